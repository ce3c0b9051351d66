/**
 * R12: the bus is best effort and catching up from the store makes it lossless — also when the
 * bus delivered a later row of the room and another relay then compacted the rows this relay
 * missed into one row under that later row's id (found in review; before the fix the room
 * skipped the merged row as "already applied" and never learnt the missed entry).
 */
import * as Y from 'yjs';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../log/index.ts';
import { relayLimits } from '../../relay/limits.ts';
import { RelayRoom } from '../../relay/RelayRoom.ts';
import { MemoryUpdateStore, type Appended } from '../../relay/UpdateStore.ts';
import { entryUpdate, fakeEntry } from '../helpers/roomUpdates.ts';

function idOf(appended: Appended): number {
  if (!appended.ok) throw new Error('unexpected conflict');
  return appended.id;
}

describe('[R12] a room catching up from the store', () => {
  it('applies a row another relay compacted under an id the bus already delivered: the row the bus lost is not skipped', async () => {
    const store = new MemoryUpdateStore();
    const limits = relayLimits();
    const room = new RelayRoom({
      name: 'room',
      store,
      limits,
      logger: silentLogger,
      counters: { admitted: 0, duplicates: 0, refused: 0, compactions: 0, fromOtherRelays: 0, storeFailures: 0 },
      observeAppendSeconds: () => {},
      onIdle: () => {},
      guard: { limitsFor: () => ({ itemBytes: limits.itemBytes, roomItems: 1e9, roomBytes: 1e12 }), mayWrite: () => ({ ok: true }) },
    });
    await room.ready;
    const lost = fakeEntry();
    const delivered = fakeEntry();
    const lostUpdate = entryUpdate(lost);
    const deliveredUpdate = entryUpdate(delivered);
    // Another relay stores two rows; the bus loses the first's message and delivers the second's.
    idOf(await store.append('room', lostUpdate, [{ root: 'entries', key: lost.n }]));
    const second = idOf(await store.append('room', deliveredUpdate, [{ root: 'entries', key: delivered.n }]));
    room.applyStored(second, deliveredUpdate);
    await room.settled();
    expect([room.state.hasEntry(lost.n), room.state.hasEntry(delivered.n)]).toEqual([false, true]);
    // That relay compacts its rows up to the second into one row under the second's id.
    await store.replace('room', Y.mergeUpdates([lostUpdate, deliveredUpdate]), second);
    room.catchUp();
    await room.settled();
    expect([room.state.hasEntry(lost.n), room.state.hasEntry(delivered.n)]).toEqual([true, true]);
    expect(room.lastRowId).toBe(second);
    room.stop();
  });
});
