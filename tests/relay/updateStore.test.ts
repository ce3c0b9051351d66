/**
 * One contract suite for every UpdateStore (relay/UpdateStore.ts), run against the memory, the
 * SQLite and the PostgreSQL implementation; plus what only SQLite promises (rows survive
 * reopening, R5) and what only PostgreSQL must (two relays on one database, R7).
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../log/index.ts';
import { PgDatabase } from '../../relay/PgDatabase.ts';
import { PgUpdateStore } from '../../relay/PgUpdateStore.ts';
import { MemoryUpdateStore, type Appended, type ItemKey, type UpdateStore } from '../../relay/UpdateStore.ts';
import { SqliteUpdateStore } from '../../relay/SqliteUpdateStore.ts';
import { describeWithPostgres, startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { freePort, removeTempDirs, tempDir, waitFor } from '../helpers/processes.ts';

afterAll(removeTempDirs);

const bytes = (...values: number[]) => new Uint8Array(values);
const entry = (key: string): ItemKey => ({ root: 'entries', key });
const receipt = (key: string): ItemKey => ({ root: 'receipts', key });

/** Appends and returns the row id (the append must succeed). */
async function appended(store: UpdateStore, room: string, update: Uint8Array, keys: ItemKey[] = []): Promise<number> {
  const result = await store.append(room, update, keys);
  if (!result.ok) throw new Error(`unexpected conflict on ${result.conflict.key}`);
  return result.id;
}

function runUpdateStoreContract(name: string, open: () => UpdateStore | Promise<UpdateStore>): void {
  describe(`[R5] UpdateStore contract: ${name}`, () => {
    it('is open until closed (the relay’s /readyz reads it)', async () => {
      const store = await open();
      expect(store.isOpen).toBe(true);
      await store.close();
      expect(store.isOpen).toBe(false);
      await store.close();
    });

    it('an unknown room loads empty', async () => {
      const store = await open();
      expect(await store.load('nobody')).toEqual([]);
      expect(await store.loadSince('nobody', 0)).toEqual([]);
      expect(await store.rooms()).toEqual([]);
      await store.close();
    });

    it('appends come back in order with increasing ids, per room; each says which row of its room came before', async () => {
      const store = await open();
      const a = await store.append('room-a', bytes(1), [entry('n1')]);
      const b = await store.append('room-b', bytes(2), [entry('n1')]);
      const c = await store.append('room-a', bytes(3, 4), [entry('n2'), receipt('n1')]);
      if (!a.ok || !b.ok || !c.ok) throw new Error('an append conflicted');
      expect(c.id).toBeGreaterThan(a.id);
      expect(b.id).not.toBe(a.id);
      expect([a.previousId, b.previousId, c.previousId]).toEqual([0, 0, a.id]);
      const rows = await store.load('room-a');
      expect(rows.map((row) => [row.id, Array.from(row.update)])).toEqual([[a.id, [1]], [c.id, [3, 4]]]);
      expect((await store.loadSince('room-a', a.id)).map((row) => row.id)).toEqual([c.id]);
      expect(await store.loadSince('room-a', c.id)).toEqual([]);
      expect((await store.rooms()).sort()).toEqual(['room-a', 'room-b']);
      await store.close();
    });

    it('[R7] a store several relays share (holdsKeys) refuses a key the room holds, storing nothing; one a relay owns leaves R7 to that relay’s rooms', async () => {
      const store = await open();
      if (!store.holdsKeys) {
        // SQLite: one relay process owns the file, and its rooms refuse a held key in memory before they append.
        expect((await store.append('room', bytes(1), [entry('n1')])).ok).toBe(true);
        expect((await store.append('room', bytes(2), [entry('n1')])).ok).toBe(true);
        expect(await store.load('room')).toHaveLength(2);
        await store.close();
        return;
      }
      const first = await appended(store, 'room', bytes(1), [entry('n1')]);
      expect(await store.append('room', bytes(2), [entry('n2'), entry('n1')])).toEqual({ ok: false, conflict: entry('n1') });
      // Nothing of the refused update stayed: not its row, not its other key.
      expect((await store.load('room')).map((row) => row.id)).toEqual([first]);
      expect((await store.append('room', bytes(3), [entry('n2')])).ok).toBe(true);
      expect((await store.append('room', bytes(4), [receipt('n1')])).ok).toBe(true);
      expect((await store.append('other', bytes(5), [entry('n1')])).ok).toBe(true);
      await store.close();
    });

    it('a stored update is a copy: changing the caller’s array later changes nothing', async () => {
      const store = await open();
      const update = bytes(7, 7);
      await appended(store, 'room', update);
      update[0] = 0;
      expect(Array.from((await store.load('room'))[0]!.update)).toEqual([7, 7]);
      await store.close();
    });

    it('[R12] heads names the last row id of each room asked about (compaction keeps it); rooms without rows are absent', async () => {
      const store = await open();
      expect(await store.heads(['room', 'other'])).toEqual(new Map());
      await appended(store, 'room', bytes(1), [entry('n1')]);
      const last = await appended(store, 'room', bytes(2), [entry('n2')]);
      const other = await appended(store, 'other', bytes(3), [entry('n1')]);
      expect(await store.heads(['room', 'other', 'nobody'])).toEqual(new Map([['room', last], ['other', other]]));
      await store.replace('room', bytes(1, 2), last);
      expect(await store.heads(['room'])).toEqual(new Map([['room', last]]));
      expect(await store.heads([])).toEqual(new Map());
      await store.close();
    });

    it('appends asked for at once, over several rooms, are each answered on their own: a held key refuses only its update', async () => {
      const store = await open();
      await appended(store, 'room-0', bytes(0), [entry('held')]);
      const asked = Array.from({ length: 12 }, (_, i) => ({ room: `room-${i % 4}`, key: i === 5 ? 'held' : `n${i}` }));
      const results = await Promise.all(asked.map(({ room, key }, i) => store.append(room, bytes(i + 1), [entry(key)])));
      // 'held' went to room-1 (5 % 4): a store that holds keys refuses a key only in the room that holds it.
      expect(results.every((result) => result.ok)).toBe(true);
      const again = await Promise.all([store.append('room-0', bytes(50), [entry('held')]), store.append('room-3', bytes(51), [entry('fresh')])]);
      if (store.holdsKeys) expect(again[0]).toEqual({ ok: false, conflict: entry('held') });
      expect(again[1]!.ok).toBe(true);
      for (let room = 0; room < 4; room++) {
        const rows = await store.load(`room-${room}`);
        const expected = [...(room === 0 ? [0] : []), ...asked.flatMap((item, i) => (item.room === `room-${room}` ? [i + 1] : [])), ...(room === 0 && !store.holdsKeys ? [50] : []), ...(room === 3 ? [51] : [])];
        // Each room's rows in the order its appends were asked for, each naming the one before.
        expect(rows.map((row) => row.update[0])).toEqual(expected);
      }
      await store.close();
    });

    it('[R7] replace merges rows up to an id into one row that sorts before later rows, and held keys stay held', async () => {
      const store = await open();
      await appended(store, 'room', bytes(1), [entry('n1')]);
      const upTo = await appended(store, 'room', bytes(2), [entry('n2')]);
      const later = await appended(store, 'room', bytes(3), [entry('n3')]);
      await appended(store, 'other', bytes(9));
      await store.replace('room', bytes(1, 2), upTo);
      const rows = await store.load('room');
      expect(rows.map((row) => [row.id, Array.from(row.update)])).toEqual([[upTo, [1, 2]], [later, [3]]]);
      expect((await store.load('other')).length).toBe(1);
      if (store.holdsKeys) expect(await store.append('room', bytes(5), [entry('n1')])).toEqual({ ok: false, conflict: entry('n1') });
      const next = await store.append('room', bytes(4), [entry('n4')]);
      expect(next).toEqual({ ok: true, id: expect.any(Number), previousId: later });
      expect(next.ok && next.id).toBeGreaterThan(later);
      await store.close();
    });
  });
}

runUpdateStoreContract('MemoryUpdateStore', () => new MemoryUpdateStore());
runUpdateStoreContract('SqliteUpdateStore', () => new SqliteUpdateStore(join(tempDir('rollcall-relay-store-'), 'relay.db')));

describe('[R5] SqliteUpdateStore durability', () => {
  it('rows appended and compacted survive closing and reopening the file, and the next append names the last row', async () => {
    const path = join(tempDir('rollcall-relay-store-'), 'relay.db');
    const first = new SqliteUpdateStore(path);
    const id = await appended(first, 'room', bytes(1), [entry('n1')]);
    await appended(first, 'room', bytes(2));
    await first.replace('room', bytes(1, 9), id);
    await first.close();
    const second = new SqliteUpdateStore(path);
    const rows = await second.load('room');
    expect(rows.map((row) => Array.from(row.update))).toEqual([[1, 9], [2]]);
    expect(await second.append('room', bytes(3), [entry('n1')])).toEqual({ ok: true, id: expect.any(Number), previousId: rows[1]!.id });
    await second.close();
  });
});

describeWithPostgres('PgUpdateStore (a PostgreSQL started for this file)', () => {
  let server: TestPostgres | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const connect = (url: string) => PgUpdateStore.connect(url, { logger: silentLogger });

  runUpdateStoreContract('PgUpdateStore', async () => connect(await server!.createDatabase()));

  it('[R7] two relays (two pools on one database) writing the same keys at the same moment: exactly one write of each key is stored', async () => {
    const url = await server!.createDatabase();
    // Both relays start at once on an empty database: the schema is created once.
    const [a, b] = await Promise.all([connect(url), connect(url)]);
    const keys = Array.from({ length: 40 }, (_, i) => `nonce-${i}`);
    const results = await Promise.all(keys.flatMap((key, i) => [a.append('room', bytes(1, i), [entry(key)]), b.append('room', bytes(2, i), [entry(key)])]));
    for (let i = 0; i < keys.length; i++) {
      const pair = [results[2 * i]!, results[2 * i + 1]!];
      expect(pair.filter((result) => result.ok)).toHaveLength(1);
      expect(pair.find((result) => !result.ok)).toEqual({ ok: false, conflict: entry(keys[i]!) });
    }
    const rows = await a.load('room');
    expect(rows).toHaveLength(keys.length);
    // Ids of one room increase in commit order, each append naming the row before it: a chain.
    const chain = results.flatMap((result) => (result.ok ? [result] : [])).sort((x, y) => x.id - y.id);
    expect(chain.map((result) => result.previousId)).toEqual([0, ...chain.slice(0, -1).map((result) => result.id)]);
    await Promise.all([a.close(), b.close()]);
  });

  it('a query that waits too long for a busy pool is refused, and the log says the pool stayed busy, not that the server is unreachable; the first answer after it logs that PostgreSQL is back', async () => {
    const lines: { level: string; message: string }[] = [];
    const logger = {
      info: (message: string) => lines.push({ level: 'info', message }),
      warn: (message: string) => lines.push({ level: 'warn', message }),
      error: (message: string) => lines.push({ level: 'error', message }),
    };
    const database = await PgDatabase.connect(await server!.createDatabase(), { logger, poolSize: 1, connectTimeoutMs: 1000 });
    try {
      // The pool's one connection is busy for 2.5 s; the next query waits 1 s for it (also the
      // bound on opening a connection, so a loaded machine still connects in time).
      const slow = database.query('SELECT pg_sleep(2.5)');
      await expect(database.query('SELECT 1')).rejects.toThrow(/timeout/);
      // Writes wait for PostgreSQL either way (R5): the relay refuses them (1013) until it answers.
      expect(database.isAvailable).toBe(false);
      const errors = lines.filter((line) => line.level === 'error').map((line) => line.message);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/^PostgreSQL did not answer in time: all 1 connections of the pool stayed busy for 1 s/);
      expect(errors[0]).not.toContain('unreachable:');
      await slow;
      expect(database.isAvailable).toBe(true);
      expect(lines.filter((line) => line.message.startsWith('PostgreSQL is back'))).toHaveLength(1);
      // Back for good: the probe that is still running finds it so and says nothing more.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(lines.filter((line) => line.message.startsWith('PostgreSQL is back'))).toHaveLength(1);
    } finally {
      await database.close();
    }
  });

  it('opens its four connections at start and keeps them: thirty room loads at once fork no backend; after the server restarts the four are opened again', async () => {
    const url = await server!.createDatabase();
    const database = new URL(url).pathname.slice(1);
    const observer = new pg.Client({ connectionString: server!.url });
    await observer.connect();
    const backends = async () =>
      (await observer.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 ORDER BY pid', [database])).rows.map((row) => row.pid);
    try {
      const store = await connect(url);
      try {
        const opened = await backends();
        expect(opened).toHaveLength(4);
        // A relay taking over a dead relay's rooms loads them all at once (docs/performance.md).
        await Promise.all(Array.from({ length: 30 }, (_, i) => store.load(`room-${i}`)));
        expect(await backends()).toEqual(opened);
        await observer.end();
        await server!.pause();
        await server!.resume();
        const again = new pg.Client({ connectionString: server!.url });
        await again.connect();
        const reopened = async () => (await again.query('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database])).rows.length;
        try {
          // The store finds the server gone (its idle connections end), probes every second, and reopens its pool.
          await waitFor(async () => (await reopened()) === 4, { message: 'the pool reopened after the restart' });
          await Promise.all(Array.from({ length: 30 }, (_, i) => store.load(`room-${i}`)));
          expect(await reopened()).toBe(4);
        } finally {
          await again.end();
        }
      } finally {
        await store.close();
      }
    } finally {
      await observer.end().catch(() => {});
    }
  });

  it('[R5] a relay catching up with loadSince sees the rows another relay stored, and a compaction by either keeps everything', async () => {
    const url = await server!.createDatabase();
    const a = await connect(url);
    const b = await connect(url);
    const first = await appended(a, 'room', bytes(1), [entry('n1')]);
    const second = await appended(b, 'room', bytes(2), [entry('n2')]);
    expect((await a.loadSince('room', first)).map((row) => [row.id, Array.from(row.update)])).toEqual([[second, [2]]]);
    await b.replace('room', bytes(1, 2), second);
    const third = await a.append('room', bytes(3), [entry('n3')]);
    expect(third).toEqual({ ok: true, id: expect.any(Number), previousId: second });
    expect((await a.load('room')).map((row) => Array.from(row.update))).toEqual([[1, 2], [3]]);
    expect(await b.append('room', bytes(9), [entry('n1')])).toEqual({ ok: false, conflict: entry('n1') });
    await Promise.all([a.close(), b.close()]);
  });

  it('[R13] appends asked for within the window (here: until the group is full) go to PostgreSQL as one statement, each answered on its own, each room a chain', async () => {
    const url = await server!.createDatabase();
    const setUp = await connect(url);
    await appended(setUp, 'room-2', bytes(0), [entry('held')]);
    await setUp.close();
    // A window no test waits for: the group goes when it is full (maxBatch), whatever the machine's speed.
    const store = await PgUpdateStore.connect(url, { logger: silentLogger, batchWindowMs: 60_000, maxBatch: 30 });
    const before = store.statistics;
    const asked: Promise<Appended>[] = [];
    for (let i = 0; i < 30; i++) {
      // Asked over several event-loop turns.
      if (i % 10 === 0) await new Promise((done) => setTimeout(done, 2));
      asked.push(store.append(`room-${i % 10}`, bytes(i + 1), [entry(i === 12 ? 'held' : `n${i}`)]));
    }
    const results = await Promise.all(asked);
    expect(store.statistics).toEqual({ appends: before.appends + 30, statements: before.statements + 1 });
    expect(results[12]).toEqual({ ok: false, conflict: entry('held') });
    expect(results.filter((result) => result.ok)).toHaveLength(29);
    for (let room = 0; room < 10; room++) {
      const rows = await store.load(`room-${room}`);
      const mine = results.flatMap((result, i) => (i % 10 === room && result.ok ? [result] : []));
      expect(rows.map((row) => row.id)).toEqual([...(room === 2 ? [rows[0]!.id] : []), ...mine.map((result) => result.id)]);
      // previousId chains the room's rows: a relay catching up from it misses none.
      for (const result of mine) {
        const at = rows.findIndex((row) => row.id === result.id);
        expect(result.previousId).toBe(at === 0 ? 0 : rows[at - 1]!.id);
      }
    }
    await store.close();
  });

  it('[R13] a statement error inside a group fails only the append that caused it; the others are stored', async () => {
    const url = await server!.createDatabase();
    const store = await PgUpdateStore.connect(url, { logger: silentLogger, batchWindowMs: 20 });
    // One key twice in one update: the key table's primary key refuses it, and with it the group's statement.
    const asked = [
      store.append('room-a', bytes(1), [entry('a1')]),
      store.append('room-b', bytes(2), [entry('twice'), entry('twice')]),
      store.append('room-c', bytes(3), [entry('c1')]),
    ];
    const settled = await Promise.allSettled(asked);
    expect(settled.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await store.load('room-a')).map((row) => Array.from(row.update))).toEqual([[1]]);
    expect(await store.load('room-b')).toEqual([]);
    expect((await store.load('room-c')).map((row) => Array.from(row.update))).toEqual([[3]]);
    // The group, then each append again alone.
    expect(store.statistics).toEqual({ appends: 3, statements: 4 });
    await store.close();
  });

  it('[R13] closing the store sends and answers the appends still waiting for their window before the database closes', async () => {
    const url = await server!.createDatabase();
    const store = await PgUpdateStore.connect(url, { logger: silentLogger, batchWindowMs: 60_000 });
    const asked = [store.append('room-a', bytes(1), [entry('a')]), store.append('room-b', bytes(2), [entry('b')])];
    await store.close();
    const settled = await Promise.allSettled(asked);
    expect(settled.map((result) => result.status === 'fulfilled' && result.value.ok)).toEqual([true, true]);
    const reopened = await connect(url);
    expect((await reopened.load('room-a')).map((row) => Array.from(row.update))).toEqual([[1]]);
    expect((await reopened.load('room-b')).map((row) => Array.from(row.update))).toEqual([[2]]);
    await reopened.close();
  });

  it('[R13] a group never carries more than maxBatch appends or about maxBatchBytes of updates; a bad setting is refused', async () => {
    const url = await server!.createDatabase();
    const store = await PgUpdateStore.connect(url, { logger: silentLogger, batchWindowMs: 60_000, maxBatch: 3, maxBatchBytes: 10 });
    // 4 + 4 bytes fit, the third update does not: it goes in the next statement.
    const results = await Promise.all([1, 2, 3].map((i) => store.append(`room-${i}`, bytes(i, i, i, i), [entry(`n${i}`)])));
    expect(results.every((result) => result.ok)).toBe(true);
    expect(store.statistics).toEqual({ appends: 3, statements: 2 });
    await store.close();
    await expect(PgUpdateStore.connect(url, { logger: silentLogger, maxBatch: 0 })).rejects.toThrow(/maxBatch must be a whole number of at least 1/);
  });

  it('an unreachable server, or a database it does not have, is a clear error naming the URL without its password', async () => {
    const nobody = `postgres://rollcall:hunter2@127.0.0.1:${await freePort()}/rollcall`;
    const missing = `postgres://rollcall:hunter2@127.0.0.1:${server!.port}/nowhere`;
    for (const url of [nobody, missing]) {
      const error = await connect(url).then(() => undefined, (failure: unknown) => failure as Error);
      expect(error?.message).toMatch(/^cannot use PostgreSQL at postgres:\/\/rollcall:\*\*\*@127\.0\.0\.1:\d+\/\w+: .+Check that the server runs/);
      expect(error?.message).not.toContain('hunter2');
    }
  });
});
