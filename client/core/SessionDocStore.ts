/**
 * How a session's Y.Doc persists on a student's device: y-indexeddb on the phone
 * (client/lib/IdbSessionDocStore.ts), Yjs updates in SQLite in `rollcall student`
 * (cli/student/SqliteSessionDocStore.ts). One contract suite checks both
 * (tests/core/sessionDocStoreCases.ts).
 */
import type * as Y from 'yjs';

export interface SessionDocStore {
  /**
   * Loads what is kept for `sessionId` into `doc` (resolves once the doc holds it) and from then on
   * keeps every update of `doc`, local or from the relay, until `close()`.
   */
  open(sessionId: string, doc: Y.Doc): Promise<PersistedDoc>;
}

export interface PersistedDoc {
  /** Resolves once every update of the doc made so far is durable; rejects with an Error naming what failed. */
  flushed(): Promise<void>;
  /** Stops keeping updates (what was kept stays). */
  close(): Promise<void>;
}
