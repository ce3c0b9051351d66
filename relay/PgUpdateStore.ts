/**
 * Admitted updates in PostgreSQL, shared by several relays (issue 10): the same rows as
 * SqliteUpdateStore plus each room's item keys, whose primary key on (room, root, key) makes
 * R7 hold across relays. An append is one call of `rollcall_append` (relay/pgSchema.ts): it
 * locks the room's row, refuses a key the room holds, inserts the update and its keys, in one
 * transaction. Durability is the server's (synchronous_commit, replication): a relay answers
 * only after the commit, so an admitted update survives any relay.
 */
import { Buffer } from 'node:buffer';
import type { Logger } from '../log/index.ts';
import { PgDatabase } from './PgDatabase.ts';
import type { Appended, ItemKey, StoredUpdate, UpdateStore } from './UpdateStore.ts';

const SQL = {
  selectSince: 'SELECT id, update_bytes FROM relay_updates WHERE room = $1 AND id > $2 ORDER BY id',
  append: 'SELECT row_id, previous_id, conflict_root, conflict_key FROM rollcall_append($1, $2, $3, $4)',
  replace: 'SELECT rollcall_replace($1, $2, $3)',
  rooms: 'SELECT room FROM relay_rooms WHERE EXISTS (SELECT 1 FROM relay_updates u WHERE u.room = relay_rooms.room)',
} as const;

interface AppendRow {
  row_id: string | null;
  previous_id: string | null;
  conflict_root: string | null;
  conflict_key: string | null;
}

/** A view, not a copy: node-postgres sends Buffers as bytea. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class PgUpdateStore implements UpdateStore {
  readonly #database: PgDatabase;
  readonly #ownsDatabase: boolean;
  #isClosed = false;

  /** On a database shared with the relay's PgTrustStore; closing the store leaves it open. */
  constructor(database: PgDatabase, { ownsDatabase = false }: { ownsDatabase?: boolean } = {}) {
    this.#database = database;
    this.#ownsDatabase = ownsDatabase;
  }

  /** A store with a database of its own (tests, benchmarks). */
  static async connect(url: string, options: { logger: Logger }): Promise<PgUpdateStore> {
    return new PgUpdateStore(await PgDatabase.connect(url, options), { ownsDatabase: true });
  }

  async load(room: string): Promise<StoredUpdate[]> {
    return this.loadSince(room, 0);
  }

  async loadSince(room: string, afterId: number): Promise<StoredUpdate[]> {
    const rows = await this.#database.query<{ id: string; update_bytes: Buffer }>(SQL.selectSince, [room, afterId]);
    return rows.map((row) => ({ id: Number(row.id), update: new Uint8Array(row.update_bytes) }));
  }

  async append(room: string, update: Uint8Array, keys: readonly ItemKey[]): Promise<Appended> {
    const [row] = await this.#database.query<AppendRow>(SQL.append, [room, asBuffer(update), keys.map((item) => item.root), keys.map((item) => item.key)]);
    if (!row) throw new Error('rollcall_append answered nothing');
    if (row.conflict_key !== null) return { ok: false, conflict: { root: row.conflict_root!, key: row.conflict_key } };
    return { ok: true, id: Number(row.row_id), previousId: Number(row.previous_id) };
  }

  async replace(room: string, merged: Uint8Array, upToId: number): Promise<void> {
    await this.#database.query(SQL.replace, [room, asBuffer(merged), upToId]);
  }

  async rooms(): Promise<string[]> {
    return (await this.#database.query<{ room: string }>(SQL.rooms)).map((row) => row.room);
  }

  readonly holdsKeys = true;

  get isOpen(): boolean {
    return !this.#isClosed && this.#database.isAvailable;
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    if (this.#ownsDatabase) await this.#database.close();
  }
}
