/**
 * Nothing a student submitted is ever lost, tested with faults (issue 3): relay and validator as
 * separate processes, a burst of 200 submissions from 200 phones, SIGKILL of one of them in the
 * middle (or SIGTERM of the relay: a rolling restart, issue 9), restart on the same data and
 * port; every entry ends with exactly one decision and its receipt reaches its phone.
 *
 * Where the fault strikes is chosen, not left to timers: a seeded plan says how many
 * submissions go out first, how many of them the validator must have decided before the
 * process is stopped, and how many more go out while it is down; the restart is awaited before
 * the rest. The seed is in the test names; ROLLCALL_FAULT_SEED=<n> replays another.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PORT, removeTempDirs, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { createSession } from '../helpers/api.ts';
import { connectStudent, type SimulatedStudent } from '../helpers/students.ts';
import { enrolValidatorInRelay } from '../helpers/validatorProcess.ts';
import { logRecords } from '../helpers/logs.ts';
import { CloseCode } from '../../protocol/index.ts';
import { readValidatorStore } from '../helpers/validatorStore.ts';
import { seedFromEnv, seededRandom } from '../helpers/seededRandom.ts';

const BURST = 200;
const running: StartedProcess[] = [];
let phones: SimulatedStudent[] = [];

afterEach(async () => {
  for (const phone of phones) phone.close();
  phones = [];
  await Promise.all(running.splice(0).map((p) => p.stop()));
  removeTempDirs();
});

async function startRelay(dataDir: string, port?: number): Promise<StartedProcess> {
  const relay = await startRollcall(['relay', '--data', dataDir], port === undefined ? {} : { port });
  running.push(relay);
  return relay;
}

async function startValidator(dataDir: string, relayUrl: string, port?: number): Promise<StartedProcess> {
  const validator = await startRollcall(['validator', '--data', dataDir, '--relay', relayUrl, '--public-url', relayUrl, '--port', PORT], port === undefined ? {} : { port });
  running.push(validator);
  return validator;
}

function decisions(validatorDir: string, sessionId: string): { nonce: string; status: string }[] {
  return readValidatorStore(validatorDir, (store) => store.decisionsForSession(sessionId).filter((decision) => decision.via === 'sync').map(({ nonce, status }) => ({ nonce, status })));
}

async function setUp() {
  const relayDir = tempDir('rollcall-relay-');
  const validatorDir = tempDir('rollcall-validator-');
  // The relay trusts this validator (what `rollcall relay enroll` + `--enroll` do; SPEC.md R10).
  enrolValidatorInRelay(validatorDir, relayDir);
  const relay = await startRelay(relayDir);
  const validator = await startValidator(validatorDir, relay.baseUrl);
  const session = await createSession(validator.baseUrl, { course: 'Networks', duration_minutes: 30, rotate_seconds: 0 });
  phones = Array.from({ length: BURST }, (_, i) => connectStudent(relay.baseUrl, session.session_id, `2024CS-${String(i).padStart(3, '0')}`));
  return { relayDir, validatorDir, relay, validator, session };
}

const SEED = seedFromEnv('ROLLCALL_FAULT_SEED', 20_261_125);

/** Where a fault strikes in the burst (see the file's comment). */
interface FaultPlan {
  /** Submissions sent before the fault. */
  before: number;
  /** Of those, how many the validator has decided (at least) when the fault strikes. */
  decided: number;
  /** Submissions sent while the stopped process is down. */
  whileDown: number;
}

function faultPlan(testSeed: number): FaultPlan {
  const random = seededRandom(testSeed);
  const before = 20 + Math.floor(random() * (BURST / 2));
  const decided = 1 + Math.floor(random() * (before / 2));
  const whileDown = 1 + Math.floor(random() * (BURST - before - 1));
  return { before, decided, whileDown };
}

/**
 * Submits the burst in waves; after `plan.before` submissions, once the validator has decided
 * `plan.decided` of them, `stop` stops a process (some entries are still in flight then);
 * `plan.whileDown` more go out; `restart` is awaited; then the rest.
 */
async function burst(session: { session_id: string; payload_b64: string; signature: string }, validatorDir: string, plan: FaultPlan, stop: () => Promise<void>, restart: () => Promise<unknown>): Promise<string[]> {
  const nonces: string[] = [];
  const submitUpTo = async (end: number) => {
    while (nonces.length < end) {
      nonces.push(phones[nonces.length]!.submit(session).n);
      if (nonces.length % 20 === 0) await new Promise((r) => setImmediate(r)); // let the sockets write a wave
    }
  };
  await submitUpTo(plan.before);
  await waitFor(() => decisions(validatorDir, session.session_id).length >= plan.decided, { timeoutMs: 60_000, message: `the validator to decide ${plan.decided} entries` });
  await stop();
  expect(decisions(validatorDir, session.session_id).length).toBeLessThan(BURST);
  await submitUpTo(plan.before + plan.whileDown);
  await restart();
  await submitUpTo(BURST);
  return nonces;
}

async function expectEveryoneAnswered(validatorDir: string, sessionId: string, nonces: string[]): Promise<void> {
  const receipts = await Promise.all(phones.map((phone, i) => phone.receipt(nonces[i]!, 90_000)));
  expect(receipts.filter((r) => r.status === 'accepted')).toHaveLength(BURST);
  const rows = decisions(validatorDir, sessionId);
  expect(rows).toHaveLength(BURST);
  expect(new Set(rows.map((r) => r.nonce))).toEqual(new Set(nonces));
}

describe(`faults in the middle of a 200-student burst (seed ${SEED})`, () => {
  const relayKill = faultPlan(SEED);
  it(`SIGKILL of the relay (${JSON.stringify(relayKill)}), then a restart on the same data: every entry ends with exactly one decision`, async () => {
    const { relayDir, relay, validatorDir, session } = await setUp();
    await waitFor(() => phones.every((p) => p.provider.synced), { timeoutMs: 60_000, message: 'all phones synced' });
    // Phones keep appending while the relay is down; y-websocket reconnects by itself.
    const stop = async () => void expect(await relay.kill()).toBe('SIGKILL');
    const nonces = await burst(session, validatorDir, relayKill, stop, () => startRelay(relayDir, relay.port));
    await expectEveryoneAnswered(validatorDir, session.session_id, nonces);
  });

  const relayTerm = faultPlan(SEED + 1);
  it(`SIGTERM of the relay (a rolling restart, ${JSON.stringify(relayTerm)}): it exits 0, every phone is told to reconnect (1012), reconnects and gets its receipt; nothing is lost`, async () => {
    const { relayDir, relay, validatorDir, session } = await setUp();
    await waitFor(() => phones.every((p) => p.provider.synced), { timeoutMs: 60_000, message: 'all phones synced' });
    const closeCodes = phones.map(() => [] as number[]);
    phones.forEach((phone, i) => phone.provider.on('connection-close', (event) => closeCodes[i]!.push(event?.code ?? 0)));
    const stop = async () => void expect(await relay.stop()).toBe(0);
    const nonces = await burst(session, validatorDir, relayTerm, stop, () => startRelay(relayDir, relay.port));
    await expectEveryoneAnswered(validatorDir, session.session_id, nonces);
    expect(closeCodes.filter((codes) => codes[0] === CloseCode.Restarting)).toHaveLength(BURST);
    expect(logRecords(relay.stderr()).find((record) => record.msg.startsWith('relay closed'))).toMatchObject({ peers: BURST + 1, dropped_after_grace: 0 });
  });

  const validatorKill = faultPlan(SEED + 2);
  it(`SIGKILL of the validator (${JSON.stringify(validatorKill)}), then a restart on the same data: every entry ends with exactly one decision`, async () => {
    const { validatorDir, validator, relay, session } = await setUp();
    await waitFor(() => phones.every((p) => p.provider.synced), { timeoutMs: 60_000, message: 'all phones synced' });
    const stop = async () => void expect(await validator.kill()).toBe('SIGKILL');
    const nonces = await burst(session, validatorDir, validatorKill, stop, () => startValidator(validatorDir, relay.baseUrl, validator.port));
    await expectEveryoneAnswered(validatorDir, session.session_id, nonces);
  });
});
