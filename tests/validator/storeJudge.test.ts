/**
 * The follower's judge over a real SQLite store: the `delayed_sync` flag is honest only because
 * the follower records when it was connected; receipts are sealed for the entry's device only;
 * a replay is not decided twice; a lost receipt can be re-issued.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { newBoxKeyPair, openReceipt, toBase64Url } from '../../crypto/index.ts';
import { ReceiptPlaintextSchema } from '../../protocol/index.ts';
import { StoreJudge } from '../../validator/follow/StoreJudge.ts';
import { ValidatorStore } from '../../validator/index.ts';
import { removeTempDirs, tempDir } from '../helpers/processes.ts';
import { T0_S, makeSession, qrAt, sealedBytesEntry, sealedEntry } from './fixtures.ts';

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
  const judge = new StoreJudge(store, () => now);
  return { session, judge, setNow: (ms: number) => (now = ms) };
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
    expect(store!.getDecision(entry.n)).toMatchObject({ status: 'accepted', flags: [] });
  });

  it('[malformed] an entry that opens but whose plaintext is not JSON gets a receipt with student_id ""', async () => {
    const { session, judge } = setUp(slotMs + 1000);
    const device = newBoxKeyPair();
    const entry = sealedBytesEntry(session, new TextEncoder().encode('hello, not json'), device);
    const [receipt] = await judge.judge(session.id, [{ nonce: entry.n, raw: entry, firstSeenMs: slotMs + 1000 }]);
    expect(receipt).toBeDefined();
    const opened = ReceiptPlaintextSchema.parse(openReceipt(receipt!, toBase64Url(session.boxPublicKey), device));
    expect(opened).toMatchObject({ status: 'rejected', reason: 'malformed', student_id: '' });
    expect(store!.getDecision(entry.n)).toMatchObject({ reason: 'malformed' });
  });

  it('a receipt opens only with the submitting device; a replay is not decided again; a lost receipt is re-issued', async () => {
    const { session, judge } = setUp(slotMs + 1000);
    const device = newBoxKeyPair();
    const entry = sealedEntry(session, { qr: qrAt(session, slotMs), scannedAtMs: slotMs, device });
    const seen = [{ nonce: entry.n, raw: entry, firstSeenMs: slotMs + 1000 }];
    const [receipt] = await judge.judge(session.id, seen);
    const k = toBase64Url(session.boxPublicKey);
    expect(openReceipt(receipt!, k, newBoxKeyPair())).toBeUndefined();
    expect(judge.isDecided(session.id, entry.n)).toBe(true);
    expect(await judge.judge(session.id, seen)).toEqual([]); // replay: no second decision, no second receipt
    expect(store!.decisionsForSession(session.id)).toHaveLength(1);
    const again = judge.reissueReceipt(session.id, entry.n)!;
    expect(again.rn).not.toBe(receipt!.rn);
    expect(ReceiptPlaintextSchema.parse(openReceipt(again, k, device))).toMatchObject({ status: 'accepted', student_id: '2022IMT-048' });
    expect(judge.reissueReceipt(makeSession().id, entry.n)).toBeUndefined(); // not across sessions
  });
});
