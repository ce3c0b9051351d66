/**
 * "Something changed in the store", for whoever shows it live (`GET /events`). Listeners are
 * called synchronously, inside the store's write (before a surrounding transaction commits):
 * they must only take note and defer any read to a later turn of the event loop, by which time
 * better-sqlite3's synchronous transaction has committed.
 */
import type { StoreChange } from '../protocol/events.ts';

export type StoreChangeListener = (change: StoreChange) => void;

export class StoreChanges {
  readonly #listeners = new Set<StoreChangeListener>();

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: StoreChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Tells every listener; a listener that throws is a bug, but never fails the write. */
  emit(change: StoreChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // the write itself succeeded; a broken listener must not undo it
      }
    }
  }
}
