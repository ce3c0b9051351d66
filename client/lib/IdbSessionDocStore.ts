/**
 * The core's SessionDocStore in the phone's IndexedDB: y-indexeddb, one database per session
 * (`rollcall:<session_id>`), which stores every update of the doc as it happens.
 */
import { IndexeddbPersistence } from 'y-indexeddb';
import type * as Y from 'yjs';
import type { PersistedDoc, SessionDocStore } from '../core/index.ts';

function named(what: string, error: unknown): Error {
  const detail = error instanceof DOMException ? `${error.name}: ${error.message}` : error instanceof Error ? error.message : String(error);
  return new Error(`IndexedDB could not ${what} (${detail})`);
}

export class IdbSessionDocStore implements SessionDocStore {
  readonly #prefix: string;

  /** `prefix` only for tests. */
  constructor(prefix = 'rollcall:') {
    this.#prefix = prefix;
  }

  async open(sessionId: string, doc: Y.Doc): Promise<PersistedDoc> {
    const persistence = new IndexeddbPersistence(`${this.#prefix}${sessionId}`, doc);
    // y-indexeddb's whenSynced never settles if the database does not open: wait on that first.
    const db = await persistence._db.catch((error: unknown) => {
      throw named(`open the document of session ${sessionId}`, error);
    });
    await persistence.whenSynced;
    return {
      /**
       * y-indexeddb writes each update in its own readwrite transaction on `updates`; a later
       * transaction on the same store starts only after earlier ones finish, so waiting for
       * one tells us every write so far is committed.
       */
      flushed: () =>
        new Promise<void>((resolve, reject) => {
          const tx = db.transaction(['updates'], 'readonly');
          tx.objectStore('updates').count();
          tx.oncomplete = () => resolve();
          tx.onerror = () => reject(named(`keep the document of session ${sessionId}`, tx.error));
        }),
      close: () => persistence.destroy(),
    };
  }
}
