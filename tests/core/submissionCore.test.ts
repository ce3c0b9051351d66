/**
 * The submission core's pure parts (the state rule, the connection words, the clock's round
 * trip, what the student reads) and the queue itself on the terminal client's SQLite stores
 * with no relay: what is saved, what survives a restart, and what a failing store does.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteSessionDocStore } from '../../cli/student/SqliteSessionDocStore.ts';
import { SqliteSubmissionStore } from '../../cli/student/SqliteSubmissionStore.ts';
import { StudentDatabase } from '../../cli/student/StudentDatabase.ts';
import {
  ConnectionState,
  SubmissionQueue,
  ACCEPTED_LATE_TITLE,
  ACCEPTED_UNSAID_TEXT,
  advance,
  answerText,
  offsetFromRoundTrip,
  submissionTitle,
  pendingHint,
  scanProblemText,
  submitProblemText,
  type QueueProblem,
  type Submission,
  type SubmissionStore,
} from '../../client/core/index.ts';
import { entrySharedKey, newBoxKeyPair, sealReceipt, toBase64Url, type BoxKeyPair } from '../../crypto/index.ts';
import { ACCEPTED_LATE_TEXT, REASON_TEXT, REJECTION_REASONS, encodeQrPayload, encodeReceiptUpdate, entriesMap, type QrJson, type Receipt, type ReceiptPlaintext } from '../../protocol/index.ts';
import { removeTempDirs, tempDir } from '../helpers/processes.ts';

afterAll(() => removeTempDirs());

const saved: Submission = {
  nonce: 'n1',
  sessionId: 's1',
  course: 'CS101',
  studentId: '2022IMT-048',
  validatorKey: 'k',
  qrKey: 'p.s',
  entry: { v: 1, d: 'd', n: 'n1', c: 'c' },
  scannedAtMs: 1_000,
  state: 'saved',
};
const accepted: ReceiptPlaintext = { v: 1, status: 'accepted', reason: 'ok', flags: ['new_device'], student_id: '2022IMT-048', decided_at: 1_800 };

describe('advance: the one rule that moves a submission', () => {
  it('[C2] saved stays saved until the relay holds it', () => {
    expect(advance(saved, { answer: undefined, isHeldByRelay: false, nowMs: 1_200 })).toBe(saved);
  });
  it('[C2] saved becomes sent when the synced doc holds the entry', () => {
    expect(advance(saved, { answer: undefined, isHeldByRelay: true, nowMs: 1_200 })).toMatchObject({ state: 'sent', sentAtMs: 1_200 });
  });
  it('[C3] a receipt answers it, with the validator’s decided_at for the latency', () => {
    expect(advance(saved, { answer: accepted, isHeldByRelay: false, nowMs: 1_900 })).toMatchObject({ state: 'accepted', reason: 'ok', flags: ['new_device'], decidedAtMs: 1_800 });
  });
  it('[C2] never goes back: an answered submission stays answered, whatever the facts', () => {
    const answered = advance(saved, { answer: accepted, isHeldByRelay: true, nowMs: 1_900 });
    expect(advance(answered, { answer: undefined, isHeldByRelay: false, nowMs: 2_000 })).toBe(answered);
  });
});

describe('present or late, as the receipt says (SPEC.md F4)', () => {
  const answer = (plaintext: ReceiptPlaintext) => advance(saved, { answer: plaintext, isHeldByRelay: true, nowMs: 1_900 });
  it('[F4] a v2 receipt that says late: "Accepted — late" and the late words, on the phone and the terminal alike', () => {
    const late = answer({ ...accepted, v: 2, attendance: 'late' });
    expect(late).toMatchObject({ state: 'accepted', attendance: 'late' });
    expect(submissionTitle(late)).toBe(ACCEPTED_LATE_TITLE);
    expect(ACCEPTED_LATE_TITLE).toBe('Accepted — late');
    expect(answerText(late)).toBe(ACCEPTED_LATE_TEXT);
  });
  it('[F4] a v2 receipt that says present: "Accepted", marked present', () => {
    const present = answer({ ...accepted, v: 2, attendance: 'present' });
    expect(present.attendance).toBe('present');
    expect(submissionTitle(present)).toBe('Accepted');
    expect(answerText(present)).toBe(REASON_TEXT.ok);
  });
  it('[F4] an accepted v1 receipt says neither: "Accepted", and the phone claims neither present nor late', () => {
    const unsaid = answer(accepted);
    expect(unsaid.attendance).toBeUndefined();
    expect(submissionTitle(unsaid)).toBe('Accepted');
    expect(answerText(unsaid)).toBe(ACCEPTED_UNSAID_TEXT);
  });
  it('[F4] a rejection reads as before, in either version', () => {
    for (const v of [1, 2] as const) {
      const rejected = answer({ v, status: 'rejected', reason: 'stale_qr', flags: [], student_id: '2022IMT-048', decided_at: 1_800 });
      expect(submissionTitle(rejected)).toBe('Rejected');
      expect(answerText(rejected)).toBe(REASON_TEXT.stale_qr);
    }
  });
});

describe('ConnectionState: what is true about the way to the relay', () => {
  it('checking, then connected when GET /time answers, unreachable when it does not, offline without a network', () => {
    const state = new ConnectionState();
    const seen: string[] = [];
    state.onChange((s) => seen.push(s));
    expect(state.state).toBe('checking');
    state.relayAnswered(false);
    state.relayAnswered(true);
    state.setNetwork(false);
    expect(seen).toEqual(['unreachable', 'connected', 'offline']);
  });
  it('an open socket is connected even after a failed GET /time; when it closes the last answer counts', () => {
    const state = new ConnectionState();
    state.relayAnswered(false);
    state.socket('s1', true);
    expect(state.state).toBe('connected');
    state.socket('s1', false);
    state.relayAnswered(false);
    expect(state.state).toBe('unreachable');
  });
  it('the hint for a saved scan says what it waits for: the phone’s network, or the relay', () => {
    expect(pendingHint('saved', 'offline')).toContain('as soon as this phone is online');
    expect(pendingHint('saved', 'unreachable')).toContain('cannot reach the relay');
    expect(pendingHint('saved', 'unreachable')).not.toContain('as soon as this phone is online');
  });
});

describe('what the student reads', () => {
  it('[C4] offsetFromRoundTrip: the server read its clock half-way through', () => {
    expect(offsetFromRoundTrip(1_000, 1_200, 61_100)).toBe(60_000);
  });
  it('a bad paste is named once, with what to do', () => {
    const text = scanProblemText('not_rollcall_qr', 'not a Rollcall QR code (expected the app link or the QR JSON)');
    expect(text).toBe('This is not a Rollcall QR code (expected the app link or the QR JSON). Scan the code shown by your professor.');
    expect(text.match(/not a Rollcall QR code/g)).toHaveLength(1);
  });
  it('a scan that could not be stored names what failed and says nothing was sent', () => {
    expect(submitProblemText({ ok: false, problem: 'not_saved', error: 'IndexedDB could not save the submission (QuotaExceededError: full)' })).toMatch(/could not be saved on this device \(IndexedDB could not save.*QuotaExceededError.*\)\. Nothing was sent\. Free some storage/);
  });
  // What to do next, for every rejection reason: the sentence the phone and the terminal show.
  const NEXT_STEP: Record<(typeof REJECTION_REASONS)[number], string> = {
    malformed: 'Scan the QR code again.',
    undecryptable: 'Scan the QR code shown in the room again.',
    wrong_session: 'Scan the code shown in your lecture now.',
    bad_signature: 'Scan the code on the projector.',
    outside_window: 'Check the time of your lecture; if it is on now, talk to your professor.',
    stale_qr: 'Scan the current code on the projector.',
    sync_too_late: 'Talk to your professor.',
    device_reused: 'Each student signs in from their own phone: scan the code with yours, or talk to your professor.',
    duplicate: 'Nothing more to do.',
  };
  it.each(REJECTION_REASONS.map((reason) => [reason]))('the %s rejection says what to do next', (reason) => {
    expect(REASON_TEXT[reason].endsWith(NEXT_STEP[reason])).toBe(true);
  });
});

/** A QR for a session of our own: the core never checks the HMAC, only the validator can. */
function qrFor(validator: BoxKeyPair, sessionId: string = crypto.randomUUID()): QrJson {
  const nowS = Math.floor(Date.now() / 1000);
  const payload = { v: 1 as const, s: sessionId, c: 'CS101 Algorithms', a: nowS - 60, e: nowS + 3600, t: nowS, r: 10, k: toBase64Url(validator.publicKey) };
  return { payload_b64: encodeQrPayload(payload), signature: 'A'.repeat(43) };
}

function openQueue(dir: string, store?: (inner: SubmissionStore) => SubmissionStore) {
  const database = new StudentDatabase(dir);
  const submissions = new SqliteSubmissionStore(database);
  const queue = new SubmissionQueue({
    device: database.deviceKeyPair(),
    submissions: store ? store(submissions) : submissions,
    docs: new SqliteSessionDocStore(database),
    relayOrigin: undefined,
  });
  return { queue, database, close: async () => (await queue.destroy(), database.close()) };
}

/** Writes a receipt into a session's kept doc, as if the relay had delivered it while the client was closed. */
function deliverReceipt(dir: string, sessionId: string, receipt: Receipt): void {
  const database = new StudentDatabase(dir);
  database.db.prepare('INSERT INTO doc_updates(session_id, update_bytes) VALUES (?, ?)').run(sessionId, Buffer.from(encodeReceiptUpdate(receipt)));
  database.close();
}

function receiptFor(submission: Submission, validator: BoxKeyPair, status: 'accepted' | 'rejected', reason: ReceiptPlaintext['reason'], studentId = submission.studentId): Receipt {
  const key = entrySharedKey(submission.entry, validator.secretKey)!;
  const plaintext: ReceiptPlaintext = { v: 1, status, reason, flags: [], student_id: studentId, decided_at: submission.scannedAtMs + 700 };
  return sealReceipt(plaintext, submission.nonce, key) as Receipt;
}

describe('SubmissionQueue on SQLite, no relay', () => {
  const validator = newBoxKeyPair();

  it('[C1][C6] a scan is saved (record and doc), a repeat of the same QR is recognised and not sealed again', async () => {
    const dir = tempDir('rollcall-core-');
    const { queue, close } = openQueue(dir);
    await queue.start();
    const qr = JSON.stringify(qrFor(validator));
    const first = await queue.submit(qr, '2022IMT-048');
    expect(first).toMatchObject({ ok: true, isRepeat: false, submission: { state: 'saved', course: 'CS101 Algorithms' } });
    const again = await queue.submit(qr, '2022IMT-048');
    expect(again).toMatchObject({ ok: true, isRepeat: true });
    expect(queue.list()).toHaveLength(1);
    await close();
  });

  it('[C3] an answer delivered while the client was closed is on the list at the next start, with the latency of decided_at', async () => {
    const dir = tempDir('rollcall-core-');
    const first = openQueue(dir);
    await first.queue.start();
    const result = await first.queue.submit(JSON.stringify(qrFor(validator)), '2022IMT-048');
    await first.close();
    if (!result.ok) throw new Error('not saved');
    deliverReceipt(dir, result.submission.sessionId, receiptFor(result.submission, validator, 'rejected', 'device_reused'));

    const second = openQueue(dir);
    const answered: Submission[] = [];
    second.queue.on('answered', (s) => answered.push(s));
    await second.queue.start();
    expect(second.queue.list()).toEqual([expect.objectContaining({ state: 'rejected', reason: 'device_reused', decidedAtMs: result.submission.scannedAtMs + 700 })]);
    expect(answered).toHaveLength(1);
    await second.close();
  });

  it.each([
    ['names another student', (submission: Submission) => receiptFor(submission, validator, 'accepted', 'ok', '2022IMT-999')],
    ['is sealed by another validator key', (submission: Submission) => receiptFor(submission, newBoxKeyPair(), 'accepted', 'ok')],
  ])('[C5] a receipt that %s is ignored: the scan stays saved', async (_, receipt) => {
    const dir = tempDir('rollcall-core-');
    const first = openQueue(dir);
    await first.queue.start();
    const result = await first.queue.submit(JSON.stringify(qrFor(validator)), '2022IMT-048');
    await first.close();
    if (!result.ok) throw new Error('not saved');
    deliverReceipt(dir, result.submission.sessionId, receipt(result.submission));
    const second = openQueue(dir);
    await second.queue.start();
    expect(second.queue.list()[0]?.state).toBe('saved');
    await second.close();
  });

  it('[C1] a record whose doc write was cut short is appended to the doc at the next start', async () => {
    const dir = tempDir('rollcall-core-');
    const first = openQueue(dir);
    await first.queue.start();
    const result = await first.queue.submit(JSON.stringify(qrFor(validator)), '2022IMT-048');
    await first.close();
    if (!result.ok) throw new Error('not saved');
    const cut = new StudentDatabase(dir);
    cut.db.prepare('DELETE FROM doc_updates').run(); // as if the process died between the two writes
    cut.close();

    const second = openQueue(dir);
    await second.queue.start();
    await second.close();
    const check = new StudentDatabase(dir);
    const doc = new Y.Doc();
    const persisted = await new SqliteSessionDocStore(check).open(result.submission.sessionId, doc);
    expect(entriesMap(doc).get(result.submission.nonce)).toEqual(result.submission.entry);
    await persisted.close();
    check.close();
  });

  it('a store that refuses the first write: the scan is refused as not saved, nothing is listed', async () => {
    const { queue, close } = openQueue(tempDir('rollcall-core-'), (inner) => ({ ...bind(inner), save: () => Promise.reject(new Error('SQLite could not save: disk I/O error')) }));
    await queue.start();
    const result = await queue.submit(JSON.stringify(qrFor(validator)), '2022IMT-048');
    expect(result).toEqual({ ok: false, problem: 'not_saved', error: 'SQLite could not save: disk I/O error' });
    expect(queue.list()).toEqual([]);
    await close();
  });

  it('a store that fails a later write (the answer): a storage problem naming what failed, no unhandled rejection', async () => {
    const dir = tempDir('rollcall-core-');
    const first = openQueue(dir);
    await first.queue.start();
    const result = await first.queue.submit(JSON.stringify(qrFor(validator)), '2022IMT-048');
    await first.close();
    if (!result.ok) throw new Error('not saved');
    deliverReceipt(dir, result.submission.sessionId, receiptFor(result.submission, validator, 'accepted', 'ok'));

    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const second = openQueue(dir, (inner) => ({ ...bind(inner), save: () => Promise.reject(new Error('disk full')) }));
    const problem = new Promise<QueueProblem>((resolve) => second.queue.on('problem', resolve));
    await second.queue.start();
    expect(await problem).toEqual({ kind: 'storage', what: 'the submission history', error: 'disk full' });
    expect(second.queue.list()[0]?.state).toBe('accepted'); // shown now; the receipt is still in the doc for the next start
    await second.close();
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });
});

function bind(store: SubmissionStore): SubmissionStore {
  return {
    loadAll: () => store.loadAll(),
    save: (s) => store.save(s),
    loadClockOffsetMs: () => store.loadClockOffsetMs(),
    saveClockOffsetMs: (ms) => store.saveClockOffsetMs(ms),
  };
}

describe('SubmissionQueue and the relay clock over real HTTP', () => {
  const validator = newBoxKeyPair();

  /** A server whose GET /time answers a clock one hour ahead of ours (a phone an hour behind). */
  async function aheadByAnHour(): Promise<{ origin: string; close: () => Promise<void> }> {
    const server = createServer((req, res) => {
      if (req.url === '/time') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ now_ms: Date.now() + 3_600_000 }));
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  function onlineQueue(dir: string, relayOrigin: string) {
    const database = new StudentDatabase(dir);
    const queue = new SubmissionQueue({
      device: database.deviceKeyPair(),
      submissions: new SqliteSubmissionStore(database),
      docs: new SqliteSessionDocStore(database),
      relayOrigin,
      webSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    return { queue, close: async () => (await queue.destroy(), database.close()) };
  }

  it('[C4] scanned_at is the device clock corrected by GET /time, kept for the next start; the relay answering is "connected"', async () => {
    const relay = await aheadByAnHour();
    const dir = tempDir('rollcall-core-');
    const first = onlineQueue(dir, relay.origin);
    await first.queue.start();
    await first.queue.probe();
    expect(first.queue.connection).toBe('connected');
    const result = await first.queue.submit(JSON.stringify(qrFor(validator)), '2022IMT-048');
    if (!result.ok) throw new Error('not saved');
    expect(Math.abs(result.submission.scannedAtMs - (Date.now() + 3_600_000))).toBeLessThan(5_000);
    await first.close();
    await relay.close();

    // The relay is gone now: the kept offset still dates the scan, and the relay is called unreachable.
    const second = onlineQueue(dir, relay.origin);
    await second.queue.start();
    await second.queue.probe();
    expect(second.queue.connection).toBe('unreachable');
    const again = await second.queue.submit(JSON.stringify(qrFor(validator)), '2022IMT-048');
    if (!again.ok) throw new Error('not saved');
    expect(Math.abs(again.submission.scannedAtMs - (Date.now() + 3_600_000))).toBeLessThan(5_000);
    await second.close();
  });
});
