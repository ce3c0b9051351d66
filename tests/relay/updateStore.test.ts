/**
 * One contract suite for every UpdateStore (relay/UpdateStore.ts), run against the memory and
 * the SQLite implementation; plus what only SQLite promises: rows survive reopening (R5).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryUpdateStore, type UpdateStore } from '../../relay/UpdateStore.ts';
import { SqliteUpdateStore } from '../../relay/SqliteUpdateStore.ts';
import { removeTempDirs, tempDir } from '../helpers/processes.ts';

afterAll(removeTempDirs);

const bytes = (...values: number[]) => new Uint8Array(values);

function runUpdateStoreContract(name: string, open: () => UpdateStore): void {
  describe(`[R5] UpdateStore contract: ${name}`, () => {
    it('is open until closed (the relay’s /readyz reads it)', () => {
      const store = open();
      expect(store.isOpen).toBe(true);
      store.close();
      expect(store.isOpen).toBe(false);
      store.close();
    });

    it('an unknown room loads empty', async () => {
      const store = open();
      expect(await store.load('nobody')).toEqual([]);
      expect(store.rooms()).toEqual([]);
      store.close();
    });

    it('appends come back in order with increasing ids, per room', async () => {
      const store = open();
      const a = store.append('room-a', bytes(1));
      const b = store.append('room-b', bytes(2));
      const c = store.append('room-a', bytes(3, 4));
      expect(c).toBeGreaterThan(a);
      expect(b).not.toBe(a);
      const rows = await store.load('room-a');
      expect(rows.map((row) => [row.id, Array.from(row.update)])).toEqual([[a, [1]], [c, [3, 4]]]);
      expect(store.rooms().sort()).toEqual(['room-a', 'room-b']);
      store.close();
    });

    it('a stored update is a copy: changing the caller’s array later changes nothing', async () => {
      const store = open();
      const update = bytes(7, 7);
      store.append('room', update);
      update[0] = 0;
      expect(Array.from((await store.load('room'))[0]!.update)).toEqual([7, 7]);
      store.close();
    });

    it('replace merges rows up to an id into one row that sorts before later rows', async () => {
      const store = open();
      store.append('room', bytes(1));
      const upTo = store.append('room', bytes(2));
      const later = store.append('room', bytes(3));
      store.append('other', bytes(9));
      store.replace('room', bytes(1, 2), upTo);
      const rows = await store.load('room');
      expect(rows.map((row) => [row.id, Array.from(row.update)])).toEqual([[upTo, [1, 2]], [later, [3]]]);
      expect((await store.load('other')).length).toBe(1);
      const next = store.append('room', bytes(4));
      expect(next).toBeGreaterThan(later);
      store.close();
    });
  });
}

runUpdateStoreContract('MemoryUpdateStore', () => new MemoryUpdateStore());
runUpdateStoreContract('SqliteUpdateStore', () => new SqliteUpdateStore(join(tempDir('rollcall-relay-store-'), 'relay.db')));

describe('[R5] SqliteUpdateStore durability', () => {
  it('rows appended and compacted survive closing and reopening the file', async () => {
    const path = join(tempDir('rollcall-relay-store-'), 'relay.db');
    const first = new SqliteUpdateStore(path);
    const id = first.append('room', bytes(1));
    first.append('room', bytes(2));
    first.replace('room', bytes(1, 9), id);
    first.close();
    const second = new SqliteUpdateStore(path);
    expect((await second.load('room')).map((row) => Array.from(row.update))).toEqual([[1, 9], [2]]);
    second.close();
  });
});
