/**
 * RelayTrust's cache when another process changes the trust store (another relay storing a
 * grant, the operator revoking): the cached grants are re-read in one read, never dropped, so a
 * room's next update does not wait for a read of its own on the hot path.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../log/index.ts';
import { relayLimits } from '../../relay/limits.ts';
import { RelayTrust } from '../../relay/RelayTrust.ts';
import { MemoryTrustStore, type StoredGrant } from '../../relay/TrustStore.ts';

const T0 = 1_800_000_000_000;

/** A memory store that counts single-room reads and whose version another "process" bumps. */
class WatchedStore extends MemoryTrustStore {
  singleReads = 0;
  batchReads = 0;
  version = 0;
  failBatch = false;
  override async grant(room: string): Promise<StoredGrant | undefined> {
    this.singleReads++;
    return super.grant(room);
  }
  override async grants(rooms: readonly string[]): Promise<Map<string, StoredGrant>> {
    this.batchReads++;
    if (this.failBatch) throw new Error('the store is away');
    return super.grants(rooms);
  }
  override async externalVersion(): Promise<number> {
    return this.version;
  }
}

function grant(room: string, validator: string, writesUntilMs: number): StoredGrant {
  return { room, validator, grantJson: `{"room":"${room}"}`, signature: 'sig', writesUntilMs, issuedAtMs: T0, reservedBytes: 1024 };
}

describe('[R10] RelayTrust after another process changed the trust store', () => {
  it('re-reads the cached grants in one read (none dropped, no read per room); a failed re-read is tried again', async () => {
    const store = new WatchedStore();
    await store.enrolDirect('key-a', 'prof', T0);
    await store.putGrant(grant('room-1', 'key-a', T0 + 100));
    await store.putGrant(grant('room-2', 'key-a', T0 + 100));
    const trust = new RelayTrust({ store, limits: relayLimits(), logger: silentLogger, now: () => T0, addressOf: (req) => req.socket.remoteAddress ?? 'unknown' });
    await trust.ready;
    await trust.loadGrant('room-1');
    await trust.loadGrant('room-2');
    await trust.loadGrant('room-3'); // no grant: cached as "none"
    expect(store.singleReads).toBe(3);

    // Another relay extends room-1 and opens room-3 (room-2 unchanged).
    await store.putGrant(grant('room-1', 'key-a', T0 + 500));
    await store.putGrant(grant('room-3', 'key-a', T0 + 100));
    store.version = 1;
    store.failBatch = true;
    await expect(trust.refresh()).rejects.toThrow(/away/);
    store.failBatch = false;
    expect(await trust.refresh()).toEqual([]);
    expect(store.batchReads).toBe(2);
    expect(trust.grantOf('room-1')?.writesUntilMs).toBe(T0 + 500);
    expect(trust.grantOf('room-2')?.writesUntilMs).toBe(T0 + 100);
    expect(trust.grantOf('room-3')?.writesUntilMs).toBe(T0 + 100);
    // Cached: an admission in any of these rooms needs no read.
    expect([trust.load('room-1'), trust.load('room-2'), trust.load('room-3')]).toEqual([undefined, undefined, undefined]);
    expect(store.singleReads).toBe(3);
    // Nothing changed since: the next refresh reads nothing.
    await trust.refresh();
    expect(store.batchReads).toBe(2);
  });

  it('phones arriving together for a room it has not cached share one read of its grant (a relay taking over a dead one)', async () => {
    const store = new WatchedStore();
    await store.enrolDirect('key-a', 'prof', T0);
    await store.putGrant(grant('room-1', 'key-a', T0 + 100));
    const trust = new RelayTrust({ store, limits: relayLimits(), logger: silentLogger, now: () => T0, addressOf: (req) => req.socket.remoteAddress ?? 'unknown' });
    await trust.ready;
    const answers = await Promise.all([...Array.from({ length: 200 }, () => trust.isOpened('room-1')), trust.isOpened('room-9'), trust.isOpened('room-9')]);
    expect(answers.slice(0, 200).every((opened) => opened)).toBe(true);
    expect(answers.slice(200)).toEqual([false, false]);
    expect(store.singleReads).toBe(2);
    // Once answered, the read is cached, and a failed read is not: the next arrival reads again.
    expect(await trust.isOpened('room-1')).toBe(true);
    expect(store.singleReads).toBe(2);
  });

  it('a failed read of a grant fails every phone that shared it and is not cached', async () => {
    const store = new WatchedStore();
    let failing = true;
    const grantOf = store.grant.bind(store);
    store.grant = async (room: string) => {
      if (failing) {
        store.singleReads++;
        throw new Error('the store is away');
      }
      return grantOf(room);
    };
    await store.enrolDirect('key-a', 'prof', T0);
    await store.putGrant(grant('room-1', 'key-a', T0 + 100));
    const trust = new RelayTrust({ store, limits: relayLimits(), logger: silentLogger, now: () => T0, addressOf: (req) => req.socket.remoteAddress ?? 'unknown' });
    await trust.ready;
    const results = await Promise.allSettled([trust.isOpened('room-1'), trust.isOpened('room-1')]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(store.singleReads).toBe(1);
    failing = false;
    expect(await trust.isOpened('room-1')).toBe(true);
    expect(store.singleReads).toBe(2);
  });
});
