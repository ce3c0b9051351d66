/**
 * Admitted updates in PostgreSQL, shared by several relays (issue 10): the same rows as
 * SqliteUpdateStore plus each room's item keys, whose primary key on (room, root, key) makes
 * R7 hold across relays. Appends are grouped (R13): those asked for within `batchWindowMs` of
 * the first go to PostgreSQL as one call of `rollcall_append_many` (relay/pgSchema.ts), which
 * for each, in room order, locks the room's row, refuses a key the room holds, or inserts the
 * update and its keys; one transaction, one round trip. Each append is answered on its own (a
 * conflict refuses that one only). Durability is the server's (synchronous_commit,
 * replication): a relay answers only after the commit, so an admitted update survives any relay.
 *
 * Why group: a relay's CPU per admitted update is dominated not by PostgreSQL's work but by the
 * event-loop wake-ups around each statement (the reply, then the bus's); a group shares them
 * (docs/performance.md, "The campus"). A room has at most one append in flight (RelayRoom's
 * queue), so the window delays each update once, by at most `batchWindowMs`.
 */
import { Buffer } from 'node:buffer';
import type { Logger } from '../log/index.ts';
import { DEFAULT_RELAY_LIMITS } from './limits.ts';
import { PgDatabase } from './PgDatabase.ts';
import type { Appended, ItemKey, StoredUpdate, UpdateStore } from './UpdateStore.ts';

const SQL = {
  selectSince: 'SELECT id, update_bytes FROM relay_updates WHERE room = $1 AND id > $2 ORDER BY id',
  // Every append goes through the group function, alone or not (migration 1's rollcall_append
  // stays in the schema for relays of the release before it).
  appendMany: 'SELECT ord, row_id, previous_id, conflict_root, conflict_key FROM rollcall_append_many($1, $2, $3, $4, $5, $6)',
  heads: 'SELECT room, last_row_id FROM relay_rooms WHERE room = ANY($1)',
  replace: 'SELECT rollcall_replace($1, $2, $3)',
  rooms: 'SELECT room FROM relay_rooms WHERE EXISTS (SELECT 1 FROM relay_updates u WHERE u.room = relay_rooms.room)',
} as const;

interface AppendRow {
  ord: number;
  row_id: string | null;
  previous_id: string | null;
  conflict_root: string | null;
  conflict_key: string | null;
}

/** One append waiting for its group. */
interface PendingAppend {
  room: string;
  update: Uint8Array;
  keys: readonly ItemKey[];
  resolve(appended: Appended): void;
  reject(error: unknown): void;
}

export interface PgUpdateStoreOptions {
  /** Closing the store closes the database too (a store with a database of its own). */
  ownsDatabase?: boolean;
  /** Appends asked for within this many ms of the first go as one statement (0: those of one event-loop turn). Default: the relay's `storeBatchMs`. */
  batchWindowMs?: number;
  /** At most this many appends per statement (default 256): a full group goes at once. */
  maxBatch?: number;
  /** At most about this many update bytes per statement (default 8 MiB; PostgreSQL refuses a message over 1 GB). */
  maxBatchBytes?: number;
}

/** The relay's default window (`storeBatchMs`, docs/performance.md: 25 ms measured against 0 and 10). */
export const DEFAULT_BATCH_WINDOW_MS = DEFAULT_RELAY_LIMITS.storeBatchMs;
const DEFAULT_MAX_BATCH = 256;
const DEFAULT_MAX_BATCH_BYTES = 8 * 1024 * 1024;

function appended(row: AppendRow): Appended {
  if (row.conflict_key !== null) return { ok: false, conflict: { root: row.conflict_root!, key: row.conflict_key } };
  return { ok: true, id: Number(row.row_id), previousId: Number(row.previous_id) };
}

/** A view, not a copy: node-postgres sends Buffers as bytea. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export class PgUpdateStore implements UpdateStore {
  readonly #database: PgDatabase;
  readonly #ownsDatabase: boolean;
  readonly #batchWindowMs: number;
  readonly #maxBatch: number;
  readonly #maxBatchBytes: number;
  #pending: PendingAppend[] = [];
  #pendingBytes = 0;
  /** Groups sent and not yet answered: closing waits for them. */
  readonly #inFlight = new Set<Promise<void>>();
  #appends = 0;
  #statements = 0;
  #flushTimer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  #isClosed = false;

  /** On a database shared with the relay's PgTrustStore; closing the store leaves it open (unless `ownsDatabase`). */
  constructor(database: PgDatabase, options: PgUpdateStoreOptions = {}) {
    this.#database = database;
    this.#ownsDatabase = options.ownsDatabase ?? false;
    this.#batchWindowMs = options.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS;
    this.#maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.#maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    if (!Number.isInteger(this.#maxBatch) || this.#maxBatch < 1) throw new Error(`maxBatch must be a whole number of at least 1 (got ${this.#maxBatch})`);
    if (!(this.#batchWindowMs >= 0)) throw new Error(`batchWindowMs must be 0 or more (got ${this.#batchWindowMs})`);
  }

  /** A store with a database of its own (tests, benchmarks). */
  static async connect(url: string, options: { logger: Logger } & Omit<PgUpdateStoreOptions, 'ownsDatabase'>): Promise<PgUpdateStore> {
    const { logger, ...storeOptions } = options;
    const database = await PgDatabase.connect(url, { logger });
    try {
      return new PgUpdateStore(database, { ...storeOptions, ownsDatabase: true });
    } catch (error) {
      await database.close();
      throw error;
    }
  }

  async load(room: string): Promise<StoredUpdate[]> {
    return this.loadSince(room, 0);
  }

  async loadSince(room: string, afterId: number): Promise<StoredUpdate[]> {
    const rows = await this.#database.query<{ id: string; update_bytes: Buffer }>(SQL.selectSince, [room, afterId]);
    return rows.map((row) => ({ id: Number(row.id), update: new Uint8Array(row.update_bytes) }));
  }

  append(room: string, update: Uint8Array, keys: readonly ItemKey[]): Promise<Appended> {
    if (this.#isClosed) return Promise.reject(new Error('the PostgreSQL store is closed'));
    return new Promise((resolve, reject) => {
      this.#pending.push({ room, update, keys, resolve, reject });
      this.#pendingBytes += update.length;
      if (this.#pending.length >= this.#maxBatch || this.#pendingBytes >= this.#maxBatchBytes) this.#flush();
      else if (this.#flushTimer === undefined) {
        this.#flushTimer = this.#batchWindowMs > 0 ? setTimeout(() => this.#flush(), this.#batchWindowMs) : setImmediate(() => this.#flush());
      }
    });
  }

  /** Sends the waiting appends (several statements if more than `maxBatch` wait). */
  #flush(): void {
    clearTimeout(this.#flushTimer as ReturnType<typeof setTimeout>);
    clearImmediate(this.#flushTimer as ReturnType<typeof setImmediate>);
    this.#flushTimer = undefined;
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    let group: PendingAppend[] = [];
    let bytes = 0;
    for (const append of pending) {
      if (group.length > 0 && (group.length >= this.#maxBatch || bytes + append.update.length > this.#maxBatchBytes)) {
        this.#track(this.#send(group));
        group = [];
        bytes = 0;
      }
      group.push(append);
      bytes += append.update.length;
    }
    if (group.length > 0) this.#track(this.#send(group));
  }

  #track(sending: Promise<void>): void {
    this.#inFlight.add(sending);
    void sending.finally(() => this.#inFlight.delete(sending));
  }

  /** Appends answered, and the statements they took (a group is one; its fallback one per append). */
  get statistics(): { appends: number; statements: number } {
    return { appends: this.#appends, statements: this.#statements };
  }

  /** Sends one group and answers each of its appends; never rejects (each append's promise carries its own outcome). */
  async #send(group: PendingAppend[]): Promise<void> {
    this.#appends += group.length;
    let rows: AppendRow[];
    try {
      rows = await this.#appendMany(group);
    } catch (error) {
      if (group.length === 1 || !this.#database.isAvailable) {
        for (const pending of group) pending.reject(error);
        return;
      }
      // A statement error, not the connection's: nothing of the group was stored, and one
      // append must not fail the others. Each goes again alone, one at a time (R13), and only
      // its own error reaches its room.
      for (const pending of group) {
        try {
          const [row] = await this.#appendMany([pending]);
          if (row === undefined) throw new Error('the store answered no row for the append');
          pending.resolve(appended(row));
        } catch (single) {
          pending.reject(single);
        }
      }
      return;
    }
    // Committed: an answer that cannot be read is an error for each append (its room closes
    // the writer with 1013, the phone re-sends, R7 then finds the stored key), never a retry.
    let answers: Appended[];
    try {
      for (let i = 0; i < group.length; i++) if (rows[i] === undefined) throw new Error(`the store answered no row for append ${i + 1} of ${group.length}`);
      answers = rows.map(appended);
    } catch (error) {
      for (const pending of group) pending.reject(error);
      return;
    }
    group.forEach((pending, i) => pending.resolve(answers[i]!));
  }

  /** One statement for the group (of one or more), in room order (two relays' groups lock shared rooms in one order: no deadlock). */
  async #appendMany(group: PendingAppend[]): Promise<AppendRow[]> {
    const order = group.map((_, i) => i).sort((a, b) => (group[a]!.room < group[b]!.room ? -1 : group[a]!.room > group[b]!.room ? 1 : a - b));
    const sorted = order.map((i) => group[i]!);
    const keys = sorted.flatMap((pending) => pending.keys);
    this.#statements++;
    const rows = await this.#database.query<AppendRow>(SQL.appendMany, [
      sorted.map((pending) => pending.room),
      Buffer.concat(sorted.map((pending) => pending.update)),
      sorted.map((pending) => pending.update.length),
      sorted.map((pending) => pending.keys.length),
      keys.map((item) => item.root),
      keys.map((item) => item.key),
    ]);
    const byInput: AppendRow[] = new Array(group.length);
    for (const row of rows) byInput[order[row.ord - 1]!] = row;
    return byInput;
  }

  async replace(room: string, merged: Uint8Array, upToId: number): Promise<void> {
    await this.#database.query(SQL.replace, [room, asBuffer(merged), upToId]);
  }

  async heads(rooms: readonly string[]): Promise<Map<string, number>> {
    if (rooms.length === 0) return new Map();
    const rows = await this.#database.query<{ room: string; last_row_id: string }>(SQL.heads, [rooms]);
    return new Map(rows.filter((row) => row.last_row_id !== '0').map((row) => [row.room, Number(row.last_row_id)]));
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
    // Appends already asked for are sent and answered before the database closes (a relay
    // stops only once its rooms have settled; this is for every other caller).
    this.#flush();
    this.#isClosed = true;
    await Promise.allSettled([...this.#inFlight]);
    if (this.#ownsDatabase) await this.#database.close();
  }
}
