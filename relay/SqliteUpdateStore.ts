/**
 * Admitted updates in SQLite (better-sqlite3), one row per admitted update. One relay process
 * owns the file, so `append` does not keep the items' keys: that relay's rooms refuse a held
 * key in memory (R7, RoomState) before they append, and a key table would double the cost of
 * every admission (a second B-tree insert in the same commit; measured in docs/relay.md).
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
`;
const SELECT_SINCE = 'SELECT id, update_bytes FROM room_updates WHERE room = ? AND id > ? ORDER BY id';
const SELECT_LAST_ID = 'SELECT MAX(id) FROM room_updates WHERE room = ?';
const INSERT = 'INSERT INTO room_updates (room, update_bytes) VALUES (?, ?)';
const INSERT_WITH_ID = 'INSERT INTO room_updates (id, room, update_bytes) VALUES (?, ?, ?)';
const DELETE_UP_TO = 'DELETE FROM room_updates WHERE room = ? AND id <= ?';
const SELECT_ROOMS = 'SELECT DISTINCT room FROM room_updates';

/** A view, not a copy: better-sqlite3 binds Buffers. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}


export class SqliteUpdateStore implements UpdateStore {
  readonly #db: Database.Database;
  readonly #selectSince: Database.Statement<[string, number], { id: number; update_bytes: Buffer }>;
  readonly #insert: Database.Statement<[string, Buffer]>;
  readonly #selectLastId: Database.Statement<[string], number | null>;
  readonly #lastIds = new Map<string, number>();
  readonly #replace: (room: string, merged: Uint8Array, upToId: number) => void;

  /** Opens (creating if needed) the database file at `path`. */
  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.exec(SCHEMA);
    this.#selectSince = this.#db.prepare(SELECT_SINCE);
    this.#insert = this.#db.prepare<[string, Buffer]>(INSERT);
    this.#selectLastId = this.#db.prepare<[string], number | null>(SELECT_LAST_ID).pluck();
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

  /** `keys` are not kept (see above): the relay that owns the file checked them in memory. */
  async append(room: string, update: Uint8Array, _keys: readonly ItemKey[]): Promise<Appended> {
    // Nothing else writes this file, so each room's last row id is read once, then remembered.
    const previousId = this.#lastIds.get(room) ?? this.#selectLastId.get(room) ?? 0;
    const id = Number(this.#insert.run(room, asBuffer(update)).lastInsertRowid);
    this.#lastIds.set(room, id);
    return { ok: true, id, previousId };
  }

  async replace(room: string, merged: Uint8Array, upToId: number): Promise<void> {
    this.#replace(room, merged, upToId);
  }

  async rooms(): Promise<string[]> {
    return (this.#db.prepare(SELECT_ROOMS).all() as { room: string }[]).map((row) => row.room);
  }

  async heads(rooms: readonly string[]): Promise<Map<string, number>> {
    const heads = new Map<string, number>();
    for (const room of rooms) {
      const id = this.#lastIds.get(room) ?? this.#selectLastId.get(room);
      if (id !== null && id !== undefined) heads.set(room, id);
    }
    return heads;
  }

  readonly holdsKeys = false;

  get isOpen(): boolean {
    return this.#db.open;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}
