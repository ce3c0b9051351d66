/**
 * Where a relay keeps admitted updates (R5). Narrow on purpose, like automerge-repo's storage
 * adapters: rows of opaque Yjs updates per room, appended in order, occasionally replaced by
 * their merge. One contract suite (tests/relay/updateStore.test.ts) runs against every
 * implementation: memory, SQLite (one relay process) and PostgreSQL (several relays).
 *
 * Asynchronous, because a shared database answers over the network; a room admits its updates
 * one at a time, in order (RelayRoom's queue), so an update is stored before the next one of
 * its room is judged. `append` is given the keys of the items the update writes: a store that
 * several relays share (`holdsKeys`) records them and refuses a key the room already holds —
 * R7 across relays, where two relays may judge writes of one key at the same moment and each
 * room's memory knows only its own. A store one relay process owns (SQLite) need not: that
 * relay's rooms refuse a held key in memory before they append.
 */

/** One item an update writes: the root map (`entries`, `receipts`) and its key (the nonce). */
export interface ItemKey {
  root: string;
  key: string;
}

export interface StoredUpdate {
  /** Increasing per store, and per room in the order rows were stored; a merged row takes the id of the last row it replaced. */
  id: number;
  update: Uint8Array;
}

/**
 * The outcome of `append`. `previousId` is the id of the room's row stored just before this
 * one (0 for its first): a relay whose last row of the room is another one missed rows (stored
 * by another relay) and catches up with `loadSince`. `conflict`: a key the room already holds;
 * nothing was stored.
 */
export type Appended = { ok: true; id: number; previousId: number } | { ok: false; conflict: ItemKey };

export interface UpdateStore {
  /** Every stored row of `room`, in id order (a compacted row first). Empty for an unknown room. */
  load(room: string): Promise<StoredUpdate[]>;
  /** The rows of `room` with an id above `afterId`, in id order (catching up with other relays). */
  loadSince(room: string, afterId: number): Promise<StoredUpdate[]>;
  /**
   * Durably stores one admitted update of `room` writing `keys`; a store that `holdsKeys`
   * stores the keys atomically with it, unless the room already holds one of them (then
   * nothing is stored). Rejects if it could not be stored (the relay then admits nothing).
   */
  append(room: string, update: Uint8Array, keys: readonly ItemKey[]): Promise<Appended>;
  /**
   * Compaction: atomically replaces the rows of `room` with id ≤ `upToId` by one row holding
   * `merged` (which must contain everything they held), under id `upToId`, so it still sorts
   * before rows appended after it. The room's keys stay (R7 holds after compaction).
   */
  replace(room: string, merged: Uint8Array, upToId: number): Promise<void>;
  /** Names of the rooms that have rows. */
  rooms(): Promise<string[]>;
  /**
   * The id of the last row appended to each of `rooms` (compaction keeps it); rooms without rows
   * are absent. One read for every room a relay holds: its periodic catch-up (R12) reads only
   * the rooms that moved.
   */
  heads(rooms: readonly string[]): Promise<Map<string, number>>;
  /** Whether `append` refuses a key the room holds (required of a store several relays share). */
  readonly holdsKeys: boolean;
  /**
   * A store that groups appends into statements (R13) says how many of each it sent (the relay's
   * /metrics: appends per statement is how well the window groups).
   */
  readonly statistics?: { appends: number; statements: number };
  /**
   * False once closed, or while its database cannot be reached: the relay is then not ready
   * (/readyz) and refuses writes until it is back.
   */
  readonly isOpen: boolean;
  /** Releases the store (closes the database). */
  close(): Promise<void>;
}

/** Keeps rows in memory: tests, and a relay that need not survive a restart. */
export class MemoryUpdateStore implements UpdateStore {
  readonly #rows = new Map<string, StoredUpdate[]>();
  readonly #keys = new Map<string, Set<string>>();
  /** The id of each room's last appended row (compaction keeps it). */
  readonly #lastIds = new Map<string, number>();
  #nextId = 1;

  async load(room: string): Promise<StoredUpdate[]> {
    return this.loadSince(room, 0);
  }

  async loadSince(room: string, afterId: number): Promise<StoredUpdate[]> {
    return (this.#rows.get(room) ?? []).filter((row) => row.id > afterId).map((row) => ({ id: row.id, update: row.update.slice() }));
  }

  async append(room: string, update: Uint8Array, keys: readonly ItemKey[]): Promise<Appended> {
    const held = this.#keys.get(room) ?? new Set<string>();
    const conflict = keys.find((item) => held.has(`${item.root}\n${item.key}`));
    if (conflict) return { ok: false, conflict: { ...conflict } };
    for (const item of keys) held.add(`${item.root}\n${item.key}`);
    this.#keys.set(room, held);
    const id = this.#nextId++;
    const rows = this.#rows.get(room) ?? [];
    rows.push({ id, update: update.slice() });
    this.#rows.set(room, rows);
    const previousId = this.#lastIds.get(room) ?? 0;
    this.#lastIds.set(room, id);
    return { ok: true, id, previousId };
  }

  async replace(room: string, merged: Uint8Array, upToId: number): Promise<void> {
    const later = (this.#rows.get(room) ?? []).filter((row) => row.id > upToId);
    this.#rows.set(room, [{ id: upToId, update: merged.slice() }, ...later]);
  }

  async rooms(): Promise<string[]> {
    return [...this.#rows.keys()];
  }

  async heads(rooms: readonly string[]): Promise<Map<string, number>> {
    return new Map(rooms.flatMap((room) => (this.#lastIds.has(room) ? [[room, this.#lastIds.get(room)!] as const] : [])));
  }

  readonly holdsKeys = true;
  isOpen = true;

  async close(): Promise<void> {
    this.isOpen = false;
  }
}
