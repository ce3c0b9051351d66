/**
 * Admitted updates in SQLite (better-sqlite3), one row per admitted update, and the keys of
 * the items each wrote (R7 held by the store too, as in PostgreSQL; a database from before the
 * key table has no keys for its old rows, which the room's memory still guards).
 *
 * Durability: WAL with `synchronous = NORMAL`. Every commit is written to the WAL file before
 * `append` returns, so it is in the operating system's page cache and survives the relay
 * process being killed (SIGKILL, a crash): that is R5's "a restart loses nothing admitted".
 * What NORMAL gives up is the fsync per commit, so a power loss or kernel crash may lose the
 * last commits; FULL would cost a disk flush per admitted entry (milliseconds each, on the
 * hot path of 1,000 students in seconds). Phones keep every entry until its receipt arrives and
 * re-send it on reconnect, so such a loss heals itself; a process crash is the common case.
 */
import Database from 'better-sqlite3';
import type { Appended, ItemKey, StoredUpdate, UpdateStore } from './UpdateStore.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS room_updates (
  id INTEGER PRIMARY KEY,
  room TEXT NOT NULL,
  update_bytes BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS room_updates_by_room ON room_updates (room, id);
CREATE TABLE IF NOT EXISTS room_item_keys (
  room TEXT NOT NULL,
  root TEXT NOT NULL,
  key TEXT NOT NULL,
  PRIMARY KEY (room, root, key)
) WITHOUT ROWID;
`;
const SELECT_SINCE = 'SELECT id, update_bytes FROM room_updates WHERE room = ? AND id > ? ORDER BY id';
const SELECT_LAST_ID = 'SELECT MAX(id) FROM room_updates WHERE room = ?';
const INSERT = 'INSERT INTO room_updates (room, update_bytes) VALUES (?, ?)';
/** OR IGNORE: a key the room holds inserts nothing (`changes` 0), and the whole append is rolled back. */
const INSERT_KEY = 'INSERT OR IGNORE INTO room_item_keys (room, root, key) VALUES (?, ?, ?)';
const INSERT_WITH_ID = 'INSERT INTO room_updates (id, room, update_bytes) VALUES (?, ?, ?)';
const DELETE_UP_TO = 'DELETE FROM room_updates WHERE room = ? AND id <= ?';
const SELECT_ROOMS = 'SELECT DISTINCT room FROM room_updates';

/** A view, not a copy: better-sqlite3 binds Buffers. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Thrown inside the append transaction to roll it back when a key is already held. */
class KeyConflict extends Error {
  constructor(readonly conflict: ItemKey) {
    super('key already held');
  }
}

export class SqliteUpdateStore implements UpdateStore {
  readonly #db: Database.Database;
  readonly #selectSince: Database.Statement<[string, number], { id: number; update_bytes: Buffer }>;
  readonly #append: (room: string, update: Uint8Array, keys: readonly ItemKey[]) => Appended;
  readonly #lastIds = new Map<string, number>();
  readonly #replace: (room: string, merged: Uint8Array, upToId: number) => void;

  /** Opens (creating if needed) the database file at `path`. */
  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(SCHEMA);
    this.#selectSince = this.#db.prepare(SELECT_SINCE);
    const insert = this.#db.prepare<[string, Buffer]>(INSERT);
    const insertKey = this.#db.prepare<[string, string, string]>(INSERT_KEY);
    const selectLastId = this.#db.prepare<[string], number | null>(SELECT_LAST_ID).pluck();
    // One transaction, one relay process: nothing else writes this file, so each room's last
    // row id is read once and then remembered (one indexed read less per admitted update).
    this.#append = this.#db.transaction((room: string, update: Uint8Array, keys: readonly ItemKey[]): Appended => {
      for (const item of keys) if (insertKey.run(room, item.root, item.key).changes === 0) throw new KeyConflict({ root: item.root, key: item.key });
      const previousId = this.#lastIds.get(room) ?? selectLastId.get(room) ?? 0;
      const id = Number(insert.run(room, asBuffer(update)).lastInsertRowid);
      this.#lastIds.set(room, id);
      return { ok: true, id, previousId };
    });
    const deleteUpTo = this.#db.prepare<[string, number]>(DELETE_UP_TO);
    const insertWithId = this.#db.prepare<[number, string, Uint8Array]>(INSERT_WITH_ID);
    this.#replace = this.#db.transaction((room: string, merged: Uint8Array, upToId: number) => {
      deleteUpTo.run(room, upToId);
      insertWithId.run(upToId, room, asBuffer(merged));
    });
  }

  async load(room: string): Promise<StoredUpdate[]> {
    return this.loadSince(room, 0);
  }

  async loadSince(room: string, afterId: number): Promise<StoredUpdate[]> {
    return this.#selectSince.all(room, afterId).map((row) => ({ id: row.id, update: new Uint8Array(row.update_bytes) }));
  }

  async append(room: string, update: Uint8Array, keys: readonly ItemKey[]): Promise<Appended> {
    try {
      return this.#append(room, update, keys);
    } catch (error) {
      if (error instanceof KeyConflict) return { ok: false, conflict: error.conflict };
      throw error;
    }
  }

  async replace(room: string, merged: Uint8Array, upToId: number): Promise<void> {
    this.#replace(room, merged, upToId);
  }

  async rooms(): Promise<string[]> {
    return (this.#db.prepare(SELECT_ROOMS).all() as { room: string }[]).map((row) => row.room);
  }

  get isOpen(): boolean {
    return this.#db.open;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}
