/**
 * The local-first path end to end over real sockets (issue 3): `rollcall start` (relay +
 * validator + follower in one process), stock y-websocket clients as phones, receipts opened
 * with the device key, and every reason code reachable on this path produced by a crafted entry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { newBoxKeyPair, toBase64Url } from '../../crypto/index.ts';
import { removeTempDirs, startRollcall, tempDir, waitFor, type StartedProcess } from '../helpers/processes.ts';
import { createSession as createApiSession, type CreatedSession } from '../helpers/api.ts';
import { connectStudent, craftQr, qrPayloadOf, readSessionSecret, type SimulatedStudent } from '../helpers/students.ts';
import { readValidatorStore } from '../helpers/validatorStore.ts';
import { relayNoOpUpdates } from '../helpers/relayMetrics.ts';

let server: StartedProcess;
let dataDir: string;
const students: SimulatedStudent[] = [];

function createSession(body: Record<string, unknown> = {}): Promise<CreatedSession> {
  return createApiSession(server.baseUrl, { course: 'Networks', duration_minutes: 20, ...body });
}

async function attendance(sessionId: string): Promise<{ accepted: { student_id: string; via: string; flags: string[] }[]; rejected: { student_id?: string; reason: string; via: string }[] }> {
  const response = await fetch(`${server.baseUrl}/attendance/${sessionId}`, { headers: { accept: 'application/json' } });
  return (await response.json()) as never;
}

function student(sessionId: string, studentId: string, device = newBoxKeyPair()): SimulatedStudent {
  const s = connectStudent(server.baseUrl, sessionId, studentId, { device });
  students.push(s);
  return s;
}

function decisionRows(sessionId: string): { nonce: string; status: string; reason: string }[] {
  return readValidatorStore(dataDir, (store) => store.decisionsForSession(sessionId).map(({ nonce, status, reason }) => ({ nonce, status, reason })));
}

beforeAll(async () => {
  dataDir = tempDir('rollcall-sync-');
  server = await startRollcall(['start', '--data', dataDir]);
});

afterAll(async () => {
  for (const s of students) s.close();
  await server?.stop();
  removeTempDirs();
});

describe('a stock y-websocket client as a phone', () => {
  it('appends an entry, gets an accepted receipt it alone can open, and the attendance page lists it', async () => {
    const session = await createSession();
    const phone = student(session.session_id, '2022IMT-048');
    const entry = phone.submit(session);
    const receipt = await phone.receipt(entry.n);
    expect(receipt).toMatchObject({ v: 1, status: 'accepted', reason: 'ok', student_id: '2022IMT-048' });
    const page = await attendance(session.session_id);
    expect(page.accepted.map((a) => a.student_id)).toEqual(['2022IMT-048']);
    expect(page.accepted[0]!.via).toBe('sync');
    const html = await (await fetch(`${server.baseUrl}/attendance/${session.session_id}`)).text();
    expect(html).toContain('2022IMT-048');
  });

  it('an entry seen in time is accepted even when the phone’s clock is hours off', async () => {
    const session = await createSession();
    const phone = student(session.session_id, 'clock-skewed');
    const entry = phone.submit(session, { scannedAtMs: Date.now() - 5 * 3600_000 });
    expect(await phone.receipt(entry.n)).toMatchObject({ status: 'accepted' });
  });

  it('a replayed sync never double-counts: one decision per entry nonce', async () => {
    const session = await createSession();
    const device = newBoxKeyPair();
    const first = student(session.session_id, 'replayer', device);
    const entry = first.submit(session);
    await first.receipt(entry.n);
    const saved = Y.encodeStateAsUpdate(first.doc);
    first.close();
    // The same device comes back with its saved doc (as after a reload from IndexedDB) and
    // syncs everything again: the same Yjs items, so a no-op for the relay and the validator.
    const noOpsBefore = await relayNoOpUpdates(server.baseUrl);
    const again = student(session.session_id, 'replayer', device);
    Y.applyUpdate(again.doc, saved);
    expect(await again.receipt(entry.n, 30_000, qrPayloadOf(session).k)).toMatchObject({ status: 'accepted' });
    // The proof that the replay reached the relay and went no further: it was admitted as
    // bringing nothing new, so nothing was stored or broadcast for the validator to judge again.
    await waitFor(async () => (await relayNoOpUpdates(server.baseUrl)) > noOpsBefore, { message: 'the relay to admit the replay as a no-op' });
    expect(decisionRows(session.session_id).filter((d) => d.nonce === entry.n)).toHaveLength(1);
  });
});

describe('every reason code reachable on the sync path, from a crafted entry', () => {
  it('bad_signature: a tampered signature, and a payload whose window was pushed out', async () => {
    const session = await createSession();
    const phone = student(session.session_id, 'forger');
    const flipped = toBase64Url(new Uint8Array(32).fill(1));
    const a = phone.submit({ payload_b64: session.payload_b64, signature: flipped });
    expect(await phone.receipt(a.n)).toMatchObject({ status: 'rejected', reason: 'bad_signature' });
    const payload = qrPayloadOf(session);
    const pushed = craftQr(new Uint8Array(32).fill(7), { ...payload, e: payload.e + 86_400 });
    const other = student(session.session_id, 'forger2');
    const b = other.submit({ payload_b64: pushed.payload_b64, signature: session.signature });
    expect(await other.receipt(b.n)).toMatchObject({ status: 'rejected', reason: 'bad_signature' });
  });

  it('wrong_session: a genuine QR of another session, placed in this room', async () => {
    const here = await createSession();
    const elsewhere = await createSession({ course: 'Databases' });
    const phone = student(here.session_id, 'wanderer');
    // Sealed to this room's key, so it opens here; the QR inside names the other session.
    const entry = phone.submit(here, {
      plaintext: { v: 1, student_id: 'wanderer', payload_b64: elsewhere.payload_b64, signature: elsewhere.signature, scanned_at: Date.now() },
    });
    expect(await phone.receipt(entry.n)).toMatchObject({ status: 'rejected', reason: 'wrong_session' });
  });

  it('outside_window: a QR of a session that has not begun', async () => {
    const later = await createSession({ starts_at: Math.floor(Date.now() / 1000) + 3600 });
    const phone = student(later.session_id, 'early-bird');
    const entry = phone.submit(later);
    expect(await phone.receipt(entry.n)).toMatchObject({ status: 'rejected', reason: 'outside_window' });
  });

  it('stale_qr: a rotating QR whose slot is long past, by both clocks', async () => {
    const session = await createSession({ rotate_seconds: 10, skew_seconds: 5, starts_at: Math.floor(Date.now() / 1000) - 600 });
    const payload = qrPayloadOf(session);
    const old = craftQr(readSessionSecret(dataDir, session.session_id), { ...payload, t: payload.a + 10 });
    const phone = student(session.session_id, 'late-copier');
    const entry = phone.submit(old);
    expect(await phone.receipt(entry.n)).toMatchObject({ status: 'rejected', reason: 'stale_qr' });
  });

  it('sync_too_late: first seen after late_sync_minutes past the end', async () => {
    const now = Math.floor(Date.now() / 1000);
    // Ended 30 minutes ago, with one minute of grace for late syncs.
    const session = await createSession({ starts_at: now - 90 * 60, duration_minutes: 60, rotate_seconds: 0, late_sync_minutes: 1 });
    const payload = qrPayloadOf(session);
    const inWindow = craftQr(readSessionSecret(dataDir, session.session_id), { ...payload, t: payload.a + 60 });
    const phone = student(session.session_id, 'very-offline');
    const entry = phone.submit(inWindow, { scannedAtMs: (payload.a + 120) * 1000 });
    expect(await phone.receipt(entry.n)).toMatchObject({ status: 'rejected', reason: 'sync_too_late' });
  });

  it('device_reused: one phone marking a second student id', async () => {
    const session = await createSession();
    const device = newBoxKeyPair();
    const phone = student(session.session_id, 'owner', device);
    const first = phone.submit(session);
    expect(await phone.receipt(first.n)).toMatchObject({ status: 'accepted' });
    const second = phone.submit(session, { studentId: 'friend' });
    expect(await phone.receipt(second.n)).toMatchObject({ status: 'rejected', reason: 'device_reused', student_id: 'friend' });
  });

  it('duplicate: the same student id from a second phone', async () => {
    const session = await createSession();
    const one = student(session.session_id, 'twice');
    const a = one.submit(session);
    expect(await one.receipt(a.n)).toMatchObject({ status: 'accepted' });
    const two = student(session.session_id, 'twice');
    const b = two.submit(session);
    expect(await two.receipt(b.n)).toMatchObject({ status: 'rejected', reason: 'duplicate' });
  });

  it('malformed: a plaintext that opens but breaks the schema gets a receipt with an empty student id', async () => {
    const session = await createSession();
    const phone = student(session.session_id, 'sloppy');
    const entry = phone.submit(session, { plaintext: { v: 1, student_id: 'sloppy', payload_b64: session.payload_b64 } });
    expect(await phone.receipt(entry.n)).toMatchObject({ status: 'rejected', reason: 'malformed', student_id: '' });
  });

  it('undecryptable: an entry sealed to another key is decided and stored (no receipt can be sealed)', async () => {
    const session = await createSession();
    const phone = student(session.session_id, 'wrong-key');
    const bogus = { ...qrPayloadOf(session), k: toBase64Url(newBoxKeyPair().publicKey) };
    const qr = craftQr(readSessionSecret(dataDir, session.session_id), bogus);
    const entry = phone.submit(qr);
    const row = await waitFor(() => decisionRows(session.session_id).find((d) => d.nonce === entry.n), { message: 'the undecryptable decision' });
    expect(row).toMatchObject({ status: 'rejected', reason: 'undecryptable' });
    const page = await attendance(session.session_id);
    expect(page.rejected.some((r) => r.reason === 'undecryptable')).toBe(true);
  });
});
