/**
 * Where a relay keeps admitted updates (R5). Narrow on purpose, like automerge-repo's storage
 * adapters: rows of opaque Yjs updates per room, appended in order, occasionally replaced by
 * their merge. One contract suite (tests/relay/updateStore.test.ts) runs against every
 * implementation.
 *
 * `append` and `replace` are synchronous: an admitted update must be durable before it is
 * broadcast, and a synchronous SQLite insert costs microseconds, cheaper than a promise hop.
 */
export interface StoredUpdate {
  /** Increasing per store; a merged row takes the id of the last row it replaced. */
  id: number;
  update: Uint8Array;
}

export interface UpdateStore {
  /** Every stored row of `room`, in id order (a compacted row first). Empty for an unknown room. */
  load(room: string): Promise<StoredUpdate[]>;
  /** Durably stores one admitted update of `room`; returns its row id. Throws if it could not. */
  append(room: string, update: Uint8Array): number;
  /**
   * Compaction: atomically replaces the rows of `room` with id ≤ `upToId` by one row holding
   * `merged` (which must contain everything they held), under id `upToId`, so it still sorts
   * before rows appended after it.
   */
  replace(room: string, merged: Uint8Array, upToId: number): void;
  /** Names of the rooms that have rows. */
  rooms(): string[];
  /** False once closed (or its database was): the relay is not ready without its store (/readyz). */
  readonly isOpen: boolean;
  /** Releases the store (closes the database). */
  close(): void;
}

/** Keeps rows in memory: tests, and a relay that need not survive a restart. */
export class MemoryUpdateStore implements UpdateStore {
  readonly #rows = new Map<string, StoredUpdate[]>();
  #nextId = 1;

  async load(room: string): Promise<StoredUpdate[]> {
    return (this.#rows.get(room) ?? []).map((row) => ({ ...row }));
  }

  append(room: string, update: Uint8Array): number {
    const id = this.#nextId++;
    const rows = this.#rows.get(room) ?? [];
    rows.push({ id, update: update.slice() });
    this.#rows.set(room, rows);
    return id;
  }

  replace(room: string, merged: Uint8Array, upToId: number): void {
    const later = (this.#rows.get(room) ?? []).filter((row) => row.id > upToId);
    this.#rows.set(room, [{ id: upToId, update: merged.slice() }, ...later]);
  }

  rooms(): string[] {
    return [...this.#rows.keys()];
  }

  isOpen = true;

  close(): void {
    this.isOpen = false;
  }
}
