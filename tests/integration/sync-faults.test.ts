/**
 * Nothing a student submitted is ever lost, tested with faults (issue 3): relay and validator as
 * separate processes, a burst of 200 submissions from 200 phones, SIGKILL of one of them in the
 * middle (or SIGTERM of the relay: a rolling restart, issue 9), restart on the same data and
 * port; every entry ends with exactly one decision and its receipt reaches its phone.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PORT, removeTempDirs, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { createSession } from '../helpers/api.ts';
import { connectStudent, type SimulatedStudent } from '../helpers/students.ts';
import { enrolValidatorInRelay } from '../helpers/validatorProcess.ts';
import { logRecords } from '../helpers/logs.ts';
import { CloseCode } from '../../protocol/index.ts';

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
  const db = new Database(join(validatorDir, 'validator.db'), { readonly: true });
  try {
    return db.prepare("SELECT nonce, status FROM decisions WHERE session_id = ? AND via = 'sync'").all(sessionId) as never;
  } finally {
    db.close();
  }
}

async function setUp() {
  const relayDir = tempDir('rollcall-relay-');
  const validatorDir = tempDir('rollcall-validator-');
  // The relay trusts this validator (what `rollcall relay enroll` + `--enroll` do; SPEC.md R10).
  await enrolValidatorInRelay(validatorDir, relayDir);
  const relay = await startRelay(relayDir);
  const validator = await startValidator(validatorDir, relay.baseUrl);
  const session = await createSession(validator.baseUrl, { course: 'Networks', duration_minutes: 30, rotate_seconds: 0 });
  phones = Array.from({ length: BURST }, (_, i) => connectStudent(relay.baseUrl, session.session_id, `2024CS-${String(i).padStart(3, '0')}`));
  return { relayDir, validatorDir, relay, validator, session };
}

/** Submits the burst in waves, calling `fault` once about half of it is out. */
async function burst(session: { payload_b64: string; signature: string }, fault: () => Promise<void>): Promise<string[]> {
  const nonces: string[] = [];
  for (let i = 0; i < BURST; i++) {
    nonces.push(phones[i]!.submit(session).n);
    if (i === BURST / 2) await fault();
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 20));
  }
  return nonces;
}

async function expectEveryoneAnswered(validatorDir: string, sessionId: string, nonces: string[]): Promise<void> {
  const receipts = await Promise.all(phones.map((phone, i) => phone.receipt(nonces[i]!, 90_000)));
  expect(receipts.filter((r) => r.status === 'accepted')).toHaveLength(BURST);
  const rows = decisions(validatorDir, sessionId);
  expect(rows).toHaveLength(BURST);
  expect(new Set(rows.map((r) => r.nonce))).toEqual(new Set(nonces));
}

describe('faults in the middle of a 200-student burst', () => {
  it('SIGKILL of the relay, then a restart on the same data: every entry ends with exactly one decision', async () => {
    const { relayDir, relay, validatorDir, session } = await setUp();
    await waitFor(() => phones.every((p) => p.provider.synced), { timeoutMs: 60_000, message: 'all phones synced' });
    const nonces = await burst(session, async () => {
      expect(await relay.kill()).toBe('SIGKILL');
      expect(decisions(validatorDir, session.session_id).length).toBeLessThan(BURST);
      // Phones keep appending while the relay is down; y-websocket reconnects by itself.
      setTimeout(() => void startRelay(relayDir, relay.port), 500);
    });
    await expectEveryoneAnswered(validatorDir, session.session_id, nonces);
  });

  it('SIGTERM of the relay (a rolling restart): it exits 0, every phone is told to reconnect (1012), reconnects and gets its receipt; nothing is lost', async () => {
    const { relayDir, relay, validatorDir, session } = await setUp();
    await waitFor(() => phones.every((p) => p.provider.synced), { timeoutMs: 60_000, message: 'all phones synced' });
    const closeCodes = phones.map(() => [] as number[]);
    phones.forEach((phone, i) => phone.provider.on('connection-close', (event) => closeCodes[i]!.push(event?.code ?? 0)));
    const nonces = await burst(session, async () => {
      expect(await relay.stop()).toBe(0);
      expect(decisions(validatorDir, session.session_id).length).toBeLessThan(BURST);
      setTimeout(() => void startRelay(relayDir, relay.port), 500);
    });
    await expectEveryoneAnswered(validatorDir, session.session_id, nonces);
    expect(closeCodes.filter((codes) => codes[0] === CloseCode.Restarting)).toHaveLength(BURST);
    expect(logRecords(relay.stderr()).find((record) => record.msg.startsWith('relay closed'))).toMatchObject({ peers: BURST + 1, dropped_after_grace: 0 });
  });

  it('SIGKILL of the validator, then a restart on the same data: every entry ends with exactly one decision', async () => {
    const { validatorDir, validator, relay, session } = await setUp();
    await waitFor(() => phones.every((p) => p.provider.synced), { timeoutMs: 60_000, message: 'all phones synced' });
    const nonces = await burst(session, async () => {
      expect(await validator.kill()).toBe('SIGKILL');
      expect(decisions(validatorDir, session.session_id).length).toBeLessThan(BURST);
      setTimeout(() => void startValidator(validatorDir, relay.baseUrl, validator.port), 500);
    });
    await expectEveryoneAnswered(validatorDir, session.session_id, nonces);
  });
});
