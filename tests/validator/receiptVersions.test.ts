/**
 * SPEC.md F2: the validator answers an entry in its own version, over a real SQLite store: entry
 * v1 → receipt v1 (what a phone of the previous release reads), entry v2 → receipt v2, which
 * says present or late (S2), also when a receipt the room lost is sealed again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newBoxKeyPair, newSigningKeyPair, openReceipt, toBase64Url, type BoxKeyPair } from '../../crypto/index.ts';
import { ReceiptPlaintextSchema, ReceiptPlaintextV1Schema, type Entry, type Receipt } from '../../protocol/index.ts';
import { StoreJudge } from '../../validator/follow/StoreJudge.ts';
import { ValidatorStore, type SessionRecord } from '../../validator/index.ts';
import { decide } from '../../validator/rules.ts';
import { removeTempDirs, tempDir } from '../helpers/processes.ts';
import { T0_S, entryInput, makeSession, memoryKnown, qrAt, sealedEntry } from './fixtures.ts';

let store: ValidatorStore | undefined;
afterEach(() => {
  store?.close();
  removeTempDirs();
});

/** Late from 5 minutes after the start (S2); a static QR, so any scan time inside the session works. */
const LATE_AFTER_MINUTES = 5;
const onTimeMs = (T0_S + 60) * 1000;
const lateMs = (T0_S + LATE_AFTER_MINUTES * 60 + 30) * 1000;

function setUp(options: Record<string, unknown> = { late_after_minutes: LATE_AFTER_MINUTES }) {
  store = ValidatorStore.open(tempDir('rollcall-receipt-versions-'));
  const session = makeSession({ rotateSeconds: 0, endsAtS: T0_S + 3600, options });
  store.insertSession(session);
  let now = onTimeMs;
  const judge = new StoreJudge(store, newSigningKeyPair(), { now: () => now, groupCommitMs: 0 });
  return { session, judge, setNow: (ms: number) => (now = ms) };
}

function entryAt(session: SessionRecord, scannedAtMs: number, version: 1 | 2, device: BoxKeyPair, studentId = '2022IMT-048'): Entry {
  return sealedEntry(session, { qr: qrAt(session, scannedAtMs), scannedAtMs, device, version, studentId });
}

function opened(receipt: Receipt | undefined, session: SessionRecord, device: BoxKeyPair): unknown {
  return openReceipt(receipt!, toBase64Url(session.boxPublicKey), device);
}

describe('receipts answer entries in kind', () => {
  it.each([
    [1, onTimeMs, { v: 1, status: 'accepted' }, undefined],
    [1, lateMs, { v: 1, status: 'accepted' }, undefined],
    [2, onTimeMs, { v: 2, status: 'accepted', attendance: 'present' }, 'present'],
    [2, lateMs, { v: 2, status: 'accepted', attendance: 'late' }, 'late'],
  ] as const)('[F2] an entry v%s scanned at %s ms gets %o', async (version, scannedAtMs, expected, attendance) => {
    const { session, judge, setNow } = setUp();
    setNow(scannedAtMs + 500);
    const device = newBoxKeyPair();
    const entry = entryAt(session, scannedAtMs, version, device);
    const [receipt] = await judge.judge(session.id, [{ nonce: entry.n, raw: entry, firstSeenMs: scannedAtMs + 500 }]);
    const plaintext = opened(receipt, session, device);
    expect(plaintext).toMatchObject(expected);
    expect(ReceiptPlaintextSchema.safeParse(plaintext).success).toBe(true);
    // A v1 answer is exactly what a phone of the previous release reads (its schema is strict).
    expect(ReceiptPlaintextV1Schema.safeParse(plaintext).success).toBe(version === 1);
    expect((plaintext as { attendance?: string }).attendance).toBe(attendance);
  });

  it('[F2] a rejected entry v2 gets a v2 receipt without attendance; the same rejection of a v1 entry a v1 receipt', async () => {
    const { session, judge, setNow } = setUp();
    setNow(lateMs + 1000);
    const first = newBoxKeyPair();
    const accepted = entryAt(session, onTimeMs, 2, first);
    const duplicates = [2, 1].map((version) => ({ version, device: newBoxKeyPair() })).map(({ version, device }) => ({ device, entry: entryAt(session, lateMs, version as 1 | 2, device) }));
    const receipts = await judge.judge(session.id, [accepted, ...duplicates.map((d) => d.entry)].map((entry) => ({ nonce: entry.n, raw: entry, firstSeenMs: lateMs + 1000 })));
    expect(opened(receipts[0], session, first)).toMatchObject({ v: 2, attendance: 'present' });
    const rejectedV2 = opened(receipts[1], session, duplicates[0]!.device);
    expect(rejectedV2).toEqual({ v: 2, status: 'rejected', reason: 'duplicate', flags: [], student_id: '2022IMT-048', decided_at: lateMs + 1000 });
    expect(opened(receipts[2], session, duplicates[1]!.device)).toEqual({ v: 1, status: 'rejected', reason: 'duplicate', flags: [], student_id: '2022IMT-048', decided_at: lateMs + 1000 });
  });

  it('[F2] a session without late_after_minutes answers every accepted entry v2 present', async () => {
    const { session, judge, setNow } = setUp({});
    setNow(lateMs + 500);
    const device = newBoxKeyPair();
    const entry = entryAt(session, lateMs, 2, device);
    const [receipt] = await judge.judge(session.id, [{ nonce: entry.n, raw: entry, firstSeenMs: lateMs + 500 }]);
    expect(opened(receipt, session, device)).toMatchObject({ v: 2, status: 'accepted', attendance: 'present' });
  });

  it('[F2] a receipt the room lost is sealed again in the entry’s version, read from the entry itself', async () => {
    const { session, judge, setNow } = setUp();
    setNow(lateMs + 500);
    const devices = [newBoxKeyPair(), newBoxKeyPair()];
    const entries = [entryAt(session, lateMs, 2, devices[0]!, 'A-1'), entryAt(session, lateMs, 1, devices[1]!, 'A-2')];
    const seen = entries.map((entry) => ({ nonce: entry.n, raw: entry, firstSeenMs: lateMs + 500 }));
    await judge.judge(session.id, seen);
    setNow(lateMs + 60_000); // later, on another connection: the room has neither receipt
    const again = await judge.judge(session.id, seen);
    expect(again).toHaveLength(2);
    expect(opened(again[0], session, devices[0]!)).toMatchObject({ v: 2, student_id: 'A-1', attendance: 'late', decided_at: lateMs + 500 });
    expect(opened(again[1], session, devices[1]!)).toEqual({ v: 1, status: 'accepted', reason: 'ok', flags: [], student_id: 'A-2', decided_at: lateMs + 500 });
  });

  it('[F2] an entry v2 whose plaintext carries an unknown field is malformed, answered in v1 (which every device reads)', async () => {
    const { session, judge } = setUp();
    const device = newBoxKeyPair();
    const qr = qrAt(session, onTimeMs);
    const entry = sealedEntry(session, { qr, scannedAtMs: onTimeMs, device, plaintext: { v: 2, student_id: 'A-1', payload_b64: qr.payload_b64, signature: qr.signature, scanned_at: onTimeMs, attendance: 'present' } });
    const [receipt] = await judge.judge(session.id, [{ nonce: entry.n, raw: entry, firstSeenMs: onTimeMs }]);
    expect(opened(receipt, session, device)).toMatchObject({ v: 1, status: 'rejected', reason: 'malformed' });
  });

  it('[F2] decide() reports the entry’s version and decides v1 and v2 alike', () => {
    const session = makeSession({ rotateSeconds: 0, endsAtS: T0_S + 3600 });
    for (const version of [1, 2] as const) {
      const entry = entryAt(session, onTimeMs, version, newBoxKeyPair());
      const decision = decide(entryInput(entry, onTimeMs), session, memoryKnown(), onTimeMs);
      expect(decision).toMatchObject({ status: 'accepted', reason: 'ok', entryVersion: version });
    }
  });
});
