/**
 * The follower's judge over a real SQLite store: the `delayed_sync` flag is honest only because
 * the follower records when it was connected; receipts are sealed for the entry's device only;
 * a replay is not decided twice; a receipt the room lost is sealed afresh from the stored
 * decision; a receipt the room holds is checked, not trusted; grants are signed by the identity.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newBoxKeyPair, newSigningKeyPair, openReceipt, toBase64Url, verifyDetached } from '../../crypto/index.ts';
import { ReceiptPlaintextSchema, RoomGrantSchema, grantSigningBytes } from '../../protocol/index.ts';
import { StoreJudge, writesUntilMs } from '../../validator/follow/StoreJudge.ts';
import { ValidatorStore } from '../../validator/index.ts';
import { removeTempDirs, tempDir } from '../helpers/processes.ts';
import { T0_S, makeSession, qrAt, sealedEntry } from './fixtures.ts';

let store: ValidatorStore | undefined;
afterEach(() => {
  store?.close();
  removeTempDirs();
});

function setUp(nowMs: number) {
  store = ValidatorStore.open(tempDir('rollcall-judge-'));
  const session = makeSession({ rotateSeconds: 0, endsAtS: T0_S + 3600 });
  store.insertSession(session);
  let now = nowMs;
  const identity = newSigningKeyPair();
  const judge = new StoreJudge(store, identity, { now: () => now, groupCommitMs: 0 });
  return { session, judge, identity, setNow: (ms: number) => (now = ms) };
}

describe('StoreJudge', () => {
  const slotMs = (T0_S + 60) * 1000;
  const lateMs = slotMs + 6 * 60_000; // first seen 6 minutes after its slot

  it('[delayed_sync] flags an entry first seen 5+ minutes after its slot while the follower was connected all that time', async () => {
    const { session, judge, setNow } = setUp(lateMs);
    judge.connectionChanged(session.id, true, slotMs - 1000);
    const qr = qrAt(session, slotMs);
    const device = newBoxKeyPair();
    const entry = sealedEntry(session, { qr, scannedAtMs: slotMs, device });
    setNow(lateMs);
    const [receipt] = await judge.judge(session.id, [{ nonce: entry.n, raw: entry, firstSeenMs: lateMs }]);
    const opened = ReceiptPlaintextSchema.parse(openReceipt(receipt!, toBase64Url(session.boxPublicKey), device));
    expect(opened).toMatchObject({ status: 'accepted', flags: ['delayed_sync'] });
  });

  it('does not flag delayed_sync when the follower itself was disconnected during that time', async () => {
    const { session, judge } = setUp(lateMs);
    judge.connectionChanged(session.id, true, slotMs - 1000);
    judge.connectionChanged(session.id, false, slotMs + 60_000); // the laptop lost the relay
    judge.connectionChanged(session.id, true, slotMs + 5 * 60_000);
    const qr = qrAt(session, slotMs);
    const entry = sealedEntry(session, { qr, scannedAtMs: slotMs });
    await judge.judge(session.id, [{ nonce: entry.n, raw: entry, firstSeenMs: lateMs }]);
    expect(store!.getDecision(session.id, entry.n)).toMatchObject({ status: 'accepted', flags: [] });
  });

  it('a receipt opens only with the submitting device; a replay is not decided again; a receipt the room lost is sealed afresh', async () => {
    const { session, judge } = setUp(slotMs + 1000);
    const device = newBoxKeyPair();
    const entry = sealedEntry(session, { qr: qrAt(session, slotMs), scannedAtMs: slotMs, device });
    const seen = { nonce: entry.n, raw: entry, firstSeenMs: slotMs + 1000 };
    const [receipt] = await judge.judge(session.id, [seen]);
    const k = toBase64Url(session.boxPublicKey);
    expect(openReceipt(receipt!, k, newBoxKeyPair())).toBeUndefined();
    expect(store!.getDecision(session.id, entry.n)).toMatchObject({ status: 'accepted' });
    // Replay while the room holds the receipt: no second decision, no second receipt (R7).
    expect(await judge.judge(session.id, [{ ...seen, roomReceipt: receipt }])).toEqual([]);
    expect(store!.decisionsForSession(session.id)).toHaveLength(1);
    // The room lost it (the relay's data was restored from an old backup): sealed again from the stored decision.
    const [again] = await judge.judge(session.id, [seen]);
    expect(again!.rn).not.toBe(receipt!.rn);
    expect(ReceiptPlaintextSchema.parse(openReceipt(again!, k, device))).toMatchObject({ status: 'accepted', student_id: '2022IMT-048' });
    expect(store!.decisionsForSession(session.id)).toHaveLength(1);
    // Not across sessions: a session this validator does not hold gets nothing.
    expect(await judge.judge(makeSession().id, [seen])).toEqual([]);
  });

  it('the same entry copied into another session’s room is decided there on its own and answers nothing there', async () => {
    const { session, judge } = setUp(slotMs + 1000);
    const other = makeSession({ rotateSeconds: 0, endsAtS: T0_S + 3600 });
    store!.insertSession(other);
    const device = newBoxKeyPair();
    const entry = sealedEntry(session, { qr: qrAt(session, slotMs), scannedAtMs: slotMs, device });
    const seen = { nonce: entry.n, raw: entry, firstSeenMs: slotMs + 1000 };
    expect(await judge.judge(other.id, [seen])).toEqual([]);
    expect(store!.getDecision(other.id, entry.n)).toMatchObject({ status: 'rejected' });
    // The copy did not take the nonce: the honest entry is still accepted in its own session.
    const [receipt] = await judge.judge(session.id, [seen]);
    expect(ReceiptPlaintextSchema.parse(openReceipt(receipt!, toBase64Url(session.boxPublicKey), device))).toMatchObject({ status: 'accepted' });
  });

  it('a receipt in the room that this validator did not make is counted, and no second receipt is written', async () => {
    const { session, judge } = setUp(slotMs + 1000);
    const entry = sealedEntry(session, { qr: qrAt(session, slotMs), scannedAtMs: slotMs });
    const forged = { v: 1, n: entry.n, rn: toBase64Url(new Uint8Array(24)), c: toBase64Url(new Uint8Array(64)) };
    expect(await judge.judge(session.id, [{ nonce: entry.n, raw: entry, firstSeenMs: slotMs + 1000, roomReceipt: forged }])).toEqual([]);
    expect(judge.foreignReceipts).toBe(1);
    expect(store!.getDecision(session.id, entry.n)).toMatchObject({ status: 'accepted' });
  });

  it('signs the room grant with its identity, writable until the end plus late_sync_minutes; none for an unknown session', async () => {
    const { session, judge, identity } = setUp(slotMs);
    const signed = judge.grant(session.id)!;
    expect(verifyDetached(grantSigningBytes(signed.grantJson), signed.signature, identity.publicKey)).toBe(true);
    expect(RoomGrantSchema.parse(JSON.parse(signed.grantJson))).toMatchObject({
      room: session.id,
      validator: toBase64Url(identity.publicKey),
      writes_until_ms: writesUntilMs(session),
      issued_at_ms: slotMs,
    });
    expect(judge.grant(makeSession().id)).toBeUndefined();
  });
});
