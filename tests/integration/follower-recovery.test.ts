/**
 * The follower cannot be wedged (SPEC.md "What the validator trusts"): its view of a room is
 * what it learnt on the current connection, never a local copy applied before the relay
 * admitted it. Here the relay refuses the validator's first receipt batch (R10, as a relay
 * does when it disagrees with the validator about the room); the follower reconnects, learns the
 * room again, and every entry of the room gets its receipt. Real relay, real sockets, real
 * SQLite; the refusal is injected once into the relay's trust check.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toBase64Url } from '../../crypto/index.ts';
import { MemoryTrustStore, SqliteUpdateStore } from '../../relay/index.ts';
import { refuse } from '../../relay/inspectUpdate.ts';
import type { RelayConnection } from '../../relay/RelayConnection.ts';
import { ValidatorStore, issueQr, newSessionRecord } from '../../validator/index.ts';
import { FollowerManager, StoreJudge, startFollowing, validatorIdentity } from '../../validator/follow/startFollowing.ts';
import { LATE_ANSWER_GRACE_MS } from '../../protocol/index.ts';
import { serveRelay } from '../helpers/inProcessRelay.ts';
import { removeTempDirs, tempDir, waitFor } from '../helpers/processes.ts';
import { connectStudent, type SimulatedStudent } from '../helpers/students.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  removeTempDirs();
});

/** A relay on SQLite with an in-memory trust store, and a validator store whose identity it enrols. */
async function relayAndValidatorStore() {
  const relayStore = new SqliteUpdateStore(join(tempDir('rollcall-recovery-relay-'), 'relay.db'));
  const { relay, baseUrl, close } = await serveRelay({ store: relayStore, trust: new MemoryTrustStore() });
  cleanups.push(async () => {
    await close();
    await relayStore.close();
  });
  const store = ValidatorStore.open(tempDir('rollcall-recovery-validator-'));
  cleanups.push(() => store.close());
  await relay.trust.enrolDirect(toBase64Url(validatorIdentity(store).publicKey), 'recovery-validator');
  return { relay, baseUrl, store };
}

/** From now on the relay refuses (R10, `reason`) the first write of an unfiltered peer, the validator; `count` says how many it refused. */
function refuseValidatorsFirstWrite(relay: Awaited<ReturnType<typeof serveRelay>>['relay'], reason: string): { count: number } {
  const refusals = { count: 0 };
  const mayWrite = relay.trust.mayWrite.bind(relay.trust);
  relay.trust.mayWrite = (room: string, from: RelayConnection) => {
    if (from.device === undefined && refusals.count === 0) {
      refusals.count++;
      return refuse('R10', reason);
    }
    return mayWrite(room, from);
  };
  return refusals;
}

describe('a follower whose receipt batch is refused', () => {
  it('reconnects, learns the room again, and every entry of the room gets its receipt', async () => {
    const { relay, baseUrl, store } = await relayAndValidatorStore();

    // The relay refuses the validator's first write, whole (R6): nothing of it is stored.
    const refusals = refuseValidatorsFirstWrite(relay, 'injected: the relay disagrees with this receipt batch');

    const session = newSessionRecord({ course: 'Networks', duration_minutes: 30, rotate_seconds: 0 }, Date.now());
    store.insertSession(session);
    const logs: string[] = [];
    const following: FollowerManager = startFollowing({ store, relayUrl: baseUrl, refreshMs: 100, log: (line) => logs.push(line) });
    cleanups.push(() => following.close());
    await waitFor(() => relay.trust.isOpened(session.id), { message: 'the validator to open the room' });
    const qr = issueQr(session, Date.now(), baseUrl);
    const phones: SimulatedStudent[] = Array.from({ length: 40 }, (_, i) => connectStudent(baseUrl, session.id, `REFUSED-${i}`));
    cleanups.push(() => phones.forEach((phone) => phone.close()));
    await waitFor(() => phones.every((phone) => phone.provider.synced), { message: 'every phone synced' });
    const nonces = phones.map((phone) => phone.submit(qr).n);

    const receipts = await Promise.all(phones.map((phone, i) => phone.receipt(nonces[i]!, 45_000)));
    expect(refusals.count).toBe(1);
    expect(logs.some((line) => /closed the room with 4403: R10: injected/.test(line))).toBe(true);
    expect(receipts.every((receipt) => receipt.status === 'accepted')).toBe(true);
    // Each entry decided once, though some were heard on two connections.
    expect(store.decisionsForSession(session.id)).toHaveLength(40);
  });

  it('on reconnecting, judges again only the entries whose receipt the room lacks, not those it answered', async () => {
    const { relay, baseUrl, store } = await relayAndValidatorStore();
    const identity = validatorIdentity(store);
    // The validator's own judge, counting what each connection hands it.
    const judge = new StoreJudge(store, identity);
    const judged: string[] = [];
    const counting = {
      judge: (sessionId: string, entries: Parameters<StoreJudge['judge']>[1]) => {
        judged.push(...entries.map((entry) => entry.nonce));
        return judge.judge(sessionId, entries);
      },
      grant: (sessionId: string) => judge.grant(sessionId),
      connectionChanged: (sessionId: string, isConnected: boolean, atMs: number) => judge.connectionChanged(sessionId, isConnected, atMs),
    };
    const session = newSessionRecord({ course: 'Networks', duration_minutes: 30, rotate_seconds: 0 }, Date.now());
    store.insertSession(session);
    const logs: string[] = [];
    const following = new FollowerManager({
      relayUrl: baseUrl,
      judge: counting,
      signingSecretKey: identity.secretKey,
      followable: (nowMs) => store.sessionsOpenForEntries(nowMs, LATE_ANSWER_GRACE_MS),
      refreshMs: 100,
      log: (line) => logs.push(line),
    });
    cleanups.push(() => following.close());
    await waitFor(() => relay.trust.isOpened(session.id), { message: 'the validator to open the room' });
    const qr = issueQr(session, Date.now(), baseUrl);
    const phones: SimulatedStudent[] = Array.from({ length: 11 }, (_, i) => connectStudent(baseUrl, session.id, `AGAIN-${i}`));
    cleanups.push(() => phones.forEach((phone) => phone.close()));
    await waitFor(() => phones.every((phone) => phone.provider.synced), { message: 'every phone synced' });
    const answered = phones.slice(0, 10).map((phone) => phone.submit(qr).n);
    await Promise.all(phones.slice(0, 10).map((phone, i) => phone.receipt(answered[i]!, 30_000)));
    expect([...judged].sort()).toEqual([...answered].sort());

    // The receipt of the eleventh entry is refused (R6: not stored), which closes the
    // validator's connection; the next connection hears the whole room again.
    const refusals = refuseValidatorsFirstWrite(relay, 'injected: the relay refuses this receipt');
    judged.length = 0;
    const last = phones[10]!.submit(qr).n;
    const receipt = await phones[10]!.receipt(last, 30_000);
    expect(receipt.status).toBe('accepted');
    expect(refusals.count).toBe(1);
    expect(logs.some((line) => /closed the room with 4403: R10: injected/.test(line))).toBe(true);
    // Judged when first heard, and again on the new connection (the room lacks its receipt);
    // the ten answered entries, heard again with their receipts, are not judged again.
    expect(judged).toEqual([last, last]);
    expect(store.decisionsForSession(session.id)).toHaveLength(11);
  });
});
