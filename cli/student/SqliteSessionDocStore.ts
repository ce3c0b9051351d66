/**
 * The core's SessionDocStore on the terminal client's SQLite file: every update of a session's
 * doc, local or from the relay, appended as it happens (synchronously, so `flushed()` has
 * nothing left to wait for) and replayed in order on open.
 */
import * as Y from 'yjs';
import type { PersistedDoc, SessionDocStore } from '../../client/core/index.ts';
import type { StudentDatabase } from './StudentDatabase.ts';

const SQL = {
  load: 'SELECT update_bytes FROM doc_updates WHERE session_id = ? ORDER BY id',
  append: 'INSERT INTO doc_updates(session_id, update_bytes) VALUES (?, ?)',
} as const;

/** Origin of updates replayed from the file: they are already stored. */
const FROM_STORE = Symbol('from-store');

export class SqliteSessionDocStore implements SessionDocStore {
  readonly #database: StudentDatabase;

  constructor(database: StudentDatabase) {
    this.#database = database;
  }

  async open(sessionId: string, doc: Y.Doc): Promise<PersistedDoc> {
    const db = this.#database.db;
    const rows = db.prepare(SQL.load).all(sessionId) as { update_bytes: Buffer }[];
    Y.transact(doc, () => {
      for (const row of rows) Y.applyUpdate(doc, new Uint8Array(row.update_bytes), FROM_STORE);
    }, FROM_STORE);
    const append = db.prepare(SQL.append);
    let failure: Error | undefined;
    // Runs inside Yjs's update event: a throw there would escape into y-websocket's message
    // handler, so a failed write is remembered and reported by flushed().
    const keep = (update: Uint8Array, origin: unknown) => {
      if (origin === FROM_STORE) return;
      try {
        append.run(sessionId, Buffer.from(update));
      } catch (error) {
        failure ??= new Error(`SQLite could not keep an update of session ${sessionId}: ${error instanceof Error ? error.message : String(error)}`);
      }
    };
    doc.on('update', keep);
    return {
      flushed: async () => {
        if (failure) throw failure;
      },
      close: async () => doc.off('update', keep),
    };
  }
}
