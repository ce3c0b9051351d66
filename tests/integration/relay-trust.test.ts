/**
 * Who may write what (SPEC.md R9–R11), attacked over real sockets against real processes: a
 * hosted relay (`rollcall relay`) with the professor's validator connecting out
 * (`rollcall validator --relay … --enroll <code>`), and the embedded default (`rollcall start`).
 * Each test is an attack a security review reproduced on the relay before these rules.
 */
import { SqliteUpdateStore } from '../../relay/index.ts';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, signDetached, toBase64Url } from '../../crypto/index.ts';
import { enrolmentSigningBytes } from '../../protocol/index.ts';
import { createSession, type CreatedSession } from '../helpers/api.ts';
import { removeTempDirs, runCli, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { RawRelayClient } from '../helpers/relayClient.ts';
import { entryUpdate, fakeEntry, fakeReceipt, receiptUpdate } from '../helpers/roomUpdates.ts';
import { connectStudent, type SimulatedStudent } from '../helpers/students.ts';
import { TestValidator } from '../helpers/testValidator.ts';

const students: SimulatedStudent[] = [];
const clients: RawRelayClient[] = [];

afterAll(() => {
  for (const s of students) s.close();
  for (const c of clients) c.end();
});

function student(baseUrl: string, sessionId: string, studentId: string): SimulatedStudent {
  const s = connectStudent(baseUrl, sessionId, studentId);
  students.push(s);
  return s;
}

async function raw(baseUrl: string, room: string, options: ConstructorParameters<typeof RawRelayClient>[1] = {}): Promise<RawRelayClient> {
  const client = await RawRelayClient.connect(baseUrl, room, options);
  clients.push(client);
  return client;
}

/** The upgrade's HTTP status, or 101 when the relay took the WebSocket. */
async function upgradeStatus(baseUrl: string, room: string, device?: string): Promise<number> {
  try {
    const client = await raw(baseUrl, room, device ? { device } : {});
    client.end();
    return 101;
  } catch (error) {
    const match = /HTTP (\d+)/.exec(String(error));
    if (!match) throw error;
    return Number(match[1]);
  }
}

/** Rows the relay stored for `rooms`, read through its store's API (never its SQL). */
async function storedRows(relayDataDir: string, rooms: string[]): Promise<number> {
  const store = new SqliteUpdateStore(join(relayDataDir, 'relay.db'));
  try {
    let rows = 0;
    for (const room of rooms) rows += (await store.load(room)).length;
    return rows;
  } finally {
    store.close();
  }
}

async function refusals(baseUrl: string): Promise<Record<string, number>> {
  const health = (await (await fetch(`${baseUrl}/healthz`)).json()) as { refused_by_rule: Record<string, number> };
  return health.refused_by_rule;
}

/** `rollcall relay enroll`: the one-time code it prints. */
async function enrolmentCode(relayDataDir: string, name: string): Promise<string> {
  const result = await runCli(['relay', 'enroll', '--name', name, '--data', relayDataDir]);
  expect(result.code).toBe(0);
  const code = /^\s+([0-9A-Z]{5}(?:-[0-9A-Z]{5}){3})\s*$/m.exec(result.stdout)?.[1];
  if (!code) throw new Error(`no code in: ${result.stdout}`);
  return code;
}

/** Redeems a code for a TestValidator over the relay's real endpoint (what --enroll does). */
async function redeem(relayUrl: string, code: string, validator: TestValidator): Promise<Response> {
  return fetch(`${relayUrl}/validators/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code, public_key: validator.publicKey, proof: toBase64Url(signDetached(enrolmentSigningBytes(code), validator.identity.secretKey)) }),
  });
}

describe('a hosted relay with the professor’s validator connecting out', () => {
  let relay: StartedProcess;
  let validator: StartedProcess | undefined;
  let relayDir: string;
  let validatorDir: string;
  let code: string;

  async function startValidator(extra: string[] = []): Promise<StartedProcess> {
    validator = await startRollcall(['validator', '--data', validatorDir, '--relay', relay.baseUrl, '--public-url', relay.baseUrl, ...extra], validator ? { port: validator.port } : {});
    return validator;
  }

  async function newSession(): Promise<CreatedSession> {
    const session = await createSession(validator!.baseUrl, { course: 'Networks', duration_minutes: 20 });
    // The follower opens the room within its refresh (250 ms); phones retry until then.
    await waitFor(async () => (await upgradeStatus(relay.baseUrl, session.session_id, toBase64Url(randomBytes(32)))) === 101, { message: 'the validator to open the room' });
    return session;
  }

  beforeAll(async () => {
    relayDir = tempDir('rollcall-trust-relay-');
    validatorDir = tempDir('rollcall-trust-validator-');
    relay = await startRollcall(['relay', '--data', relayDir, '--max-connections-per-address', '40']);
    code = await enrolmentCode(relayDir, 'prof-lovelace');
    await startValidator(['--enroll', code]);
    await waitFor(() => /Enrolled with the relay|refused/.test(validator!.stdout() + validator!.stderr()), { message: 'the validator to enrol' });
    expect(validator!.stdout()).toContain('Enrolled with the relay');
    expect(validator!.stdout()).toContain('"prof-lovelace"');
  });

  afterAll(async () => {
    await validator?.stop();
    await relay?.stop();
    removeTempDirs();
  });

  it('[R9] the enrolment code works once: a second validator cannot reuse it, and the code is never logged', async () => {
    const thief = new TestValidator('thief');
    const answer = await redeem(relay.baseUrl, code, thief);
    expect(answer.status).toBe(403);
    expect(await answer.json()).toMatchObject({ code: 'used_code' });
    expect(relay.stderr() + relay.stdout()).not.toContain(code);
    expect(validator!.stdout() + validator!.stderr()).not.toContain(code);
  });

  it('[R10] attack 1: a fake receipt is refused while the validator is away, and the honest entry is decided and answered', async () => {
    const session = await newSession();
    await validator!.stop();
    const phone = student(relay.baseUrl, session.session_id, '2022IMT-048');
    const entry = phone.submit(session);
    // The squatter as an unfiltered peer: it must prove it is the room's validator first.
    const squatter = await raw(relay.baseUrl, session.session_id);
    squatter.sendUpdate(receiptUpdate(fakeReceipt(entry.n)));
    expect(await squatter.closed()).toMatchObject({ code: 4401 });
    // …and as a phone: phones write entries only.
    const fakePhone = await raw(relay.baseUrl, session.session_id, { device: toBase64Url(randomBytes(32)) });
    fakePhone.sendUpdate(receiptUpdate(fakeReceipt(entry.n)));
    expect(await fakePhone.closed()).toMatchObject({ code: 4403 });
    expect(fakePhone.deniedReason).toMatch(/^R10: /);
    await startValidator();
    const receipt = await phone.receipt(entry.n);
    expect(receipt).toMatchObject({ status: 'accepted', student_id: '2022IMT-048' });
    expect(await refusals(relay.baseUrl)).toMatchObject({ R10: expect.any(Number) });
  });

  it('[R10] attack 2: hostile peers racing the validator’s receipt batch are refused, and every entry of the burst gets its receipt', async () => {
    const session = await newSession();
    const phones = Array.from({ length: 30 }, (_, i) => student(relay.baseUrl, session.session_id, `RACE-${i}`));
    const racer = await raw(relay.baseUrl, session.session_id, { device: toBase64Url(randomBytes(32)) });
    const entries = phones.map((phone) => phone.submit(session));
    // The racer answers the first entry it can name as fast as it can: refused, room untouched.
    racer.sendUpdate(receiptUpdate(fakeReceipt(entries[0]!.n)));
    expect(await racer.closed()).toMatchObject({ code: 4403 });
    const receipts = await Promise.all(phones.map((phone, i) => phone.receipt(entries[i]!.n)));
    expect(receipts.every((r) => r.status === 'accepted')).toBe(true);
    expect(new Set(receipts.map((r) => r.student_id)).size).toBe(30);
  });

  it('[R9] attack 3: rooms nobody opened take no writes and store nothing, however many are tried', async () => {
    const rooms = Array.from({ length: 31 }, () => randomUUID());
    const outsider = new TestValidator('outsider');
    for (const room of rooms) {
      expect(await upgradeStatus(relay.baseUrl, room, toBase64Url(randomBytes(32)))).toBe(404);
      const spammer = await raw(relay.baseUrl, room, { validator: outsider }).catch((error: Error) => error);
      expect(String(spammer)).toMatch(/validator refused: 4403/);
    }
    // A peer that never proves anything is closed too, without hearing a thing of the room.
    const silent = await raw(relay.baseUrl, rooms[0]!);
    silent.sendUpdate(entryUpdate(fakeEntry()));
    expect(await silent.closed()).toMatchObject({ code: 4401 });
    expect(silent.relayStateVector).toBeUndefined();
    expect(await storedRows(relayDir, rooms)).toBe(0);
  });

  it('[R10] a second enrolled validator can neither open nor answer the first one’s room', async () => {
    const session = await newSession();
    const rival = new TestValidator('prof-rival');
    expect((await redeem(relay.baseUrl, await enrolmentCode(relayDir, 'prof-rival'), rival)).status).toBe(200);
    const attempt = await raw(relay.baseUrl, session.session_id, { validator: rival }).catch((error: Error) => error);
    expect(String(attempt)).toMatch(/validator refused: 4403 R10: another validator opened this room/);
    // Its own room works: enrolment is per validator, rooms are per grant.
    const own = await raw(relay.baseUrl, randomUUID(), { validator: rival });
    expect(own.welcome?.name).toBe('prof-rival');
  });

  it('[R11] one address holds at most --max-connections-per-address connections', async () => {
    const session = await newSession();
    const held: RawRelayClient[] = [];
    try {
      let status = 101;
      // Everything here (phones, the validator) comes from 127.0.0.1: one address.
      while (status === 101 && held.length <= 40) {
        const client = await raw(relay.baseUrl, session.session_id, { device: toBase64Url(randomBytes(32)) }).catch((error: Error) => error);
        if (client instanceof RawRelayClient) held.push(client);
        else status = Number(/HTTP (\d+)/.exec(String(client))?.[1]);
      }
      expect(status).toBe(429);
      const health = (await (await fetch(`${relay.baseUrl}/healthz`)).json()) as { connections: number; refused_by_rule: Record<string, number> };
      expect(health.connections).toBeLessThanOrEqual(40);
      expect(health.refused_by_rule['R11']).toBeGreaterThan(0);
    } finally {
      for (const client of held) client.end();
    }
    await waitFor(async () => (await upgradeStatus(relay.baseUrl, session.session_id, toBase64Url(randomBytes(32)))) === 101, { message: 'a slot to free up' });
  });

  it('the laptop validator reports its relay connection on /healthz, and reconnects every room after the relay restarts', async () => {
    const session = await newSession();
    const health = async () => ((await (await fetch(`${validator!.baseUrl}/healthz`)).json()) as { relay?: { url: string; rooms: number; connected: number; waiting: number } }).relay;
    await waitFor(async () => {
      const relayStatus = await health();
      return relayStatus && relayStatus.rooms >= 1 && relayStatus.connected === relayStatus.rooms;
    }, { message: 'every followed room connected' });
    expect((await health())?.url).toBe(relay.baseUrl);
    expect(await relay.kill()).toBe('SIGKILL');
    await waitFor(async () => (await health())?.connected === 0, { message: 'the validator to see the relay gone' });
    relay = await startRollcall(['relay', '--data', relayDir, '--max-connections-per-address', '40'], { port: relay.port });
    await waitFor(async () => {
      const relayStatus = await health();
      return relayStatus && relayStatus.connected === relayStatus.rooms;
    }, { timeoutMs: 30_000, message: 'every room reconnected after the restart' });
    const phone = student(relay.baseUrl, session.session_id, 'AFTER-RESTART');
    expect((await phone.receipt(phone.submit(session).n)).status).toBe('accepted');
  });

  it('[R10] a revoked validator is cut off and its rooms refuse new entries', async () => {
    const session = await newSession();
    const early = student(relay.baseUrl, session.session_id, 'EARLY-1');
    const earlyEntry = early.submit(session);
    expect((await early.receipt(earlyEntry.n)).status).toBe('accepted');
    const revoked = await runCli(['relay', 'revoke', 'prof-lovelace', '--data', relayDir]);
    expect(revoked.code).toBe(0);
    await waitFor(() => /revoked by the relay/.test(validator!.stderr()), { message: 'the validator to hear it was revoked' });
    const late = await raw(relay.baseUrl, session.session_id, { device: toBase64Url(randomBytes(32)) });
    late.sendUpdate(entryUpdate(fakeEntry()));
    expect(await late.closed()).toMatchObject({ code: 4403 });
    expect(late.deniedReason).toMatch(/^R9: .*no longer trusted/);
    const listed = JSON.parse((await runCli(['relay', 'validators', '--json', '--data', relayDir])).stdout) as { name: string; revoked_at: string | null }[];
    expect(listed.find((v) => v.name === 'prof-lovelace')?.revoked_at).not.toBeNull();
  });
});

describe('the embedded default (rollcall start) under the same attacks', () => {
  let server: StartedProcess;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = tempDir('rollcall-trust-start-');
    server = await startRollcall(['start', '--data', dataDir]);
  });

  afterAll(async () => {
    await server?.stop();
    removeTempDirs();
  });

  it('[R9][R10] needs no enrolment step, refuses receipts from phones and unproven peers, and answers the honest student', async () => {
    const session = await createSession(server.baseUrl, { course: 'Networks', duration_minutes: 20 });
    const phone = student(server.baseUrl, session.session_id, '2022IMT-100');
    const entry = phone.submit(session);
    const fakePhone = await waitFor(() => raw(server.baseUrl, session.session_id, { device: toBase64Url(randomBytes(32)) }), { message: 'the room to open' });
    fakePhone.sendUpdate(receiptUpdate(fakeReceipt(entry.n)));
    expect(await fakePhone.closed()).toMatchObject({ code: 4403 });
    const squatter = await raw(server.baseUrl, session.session_id);
    squatter.sendUpdate(receiptUpdate(fakeReceipt(entry.n)));
    expect(await squatter.closed()).toMatchObject({ code: 4401 });
    expect(await phone.receipt(entry.n)).toMatchObject({ status: 'accepted', student_id: '2022IMT-100' });
  });

  it('[R9] room spam: random rooms are refused at the upgrade and nothing is stored', async () => {
    const rooms = Array.from({ length: 31 }, () => randomUUID());
    for (const room of rooms) expect(await upgradeStatus(server.baseUrl, room, toBase64Url(randomBytes(32)))).toBe(404);
    expect(await storedRows(dataDir, rooms)).toBe(0);
  });
});
