/**
 * The core's SubmissionStore in the phone's IndexedDB: database `rollcall-history`, one record
 * per entry nonce in `submissions` (the shape the app has always kept), and the last clock
 * offset in `meta`. Every error names IndexedDB and what it was doing.
 */
import type { Submission, SubmissionStore } from '../core/index.ts';

const DB_NAME = 'rollcall-history';
/** Version 2 added `meta` (the clock offset lived in localStorage before). */
const DB_VERSION = 2;
const SUBMISSIONS = 'submissions';
const META = 'meta';
const CLOCK_OFFSET_KEY = 'clock-offset-ms';

function named(what: string, error: unknown): Error {
  const detail = error instanceof DOMException ? `${error.name}: ${error.message}` : error instanceof Error ? error.message : String(error);
  return new Error(`IndexedDB could not ${what} (${detail})`);
}

function request<T>(req: IDBRequest<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(named(what, req.error));
  });
}

/** Resolves when the transaction has committed (not merely when its request succeeded). */
function committed(tx: IDBTransaction, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(named(what, tx.error));
    tx.onabort = () => reject(named(what, tx.error ?? 'the transaction was aborted'));
  });
}

export class IdbSubmissionStore implements SubmissionStore {
  readonly #db: IDBDatabase;

  private constructor(db: IDBDatabase) {
    this.#db = db;
  }

  /** Opens (and creates or upgrades) the database; `name` only for tests. */
  static async open(name: string = DB_NAME): Promise<IdbSubmissionStore> {
    let open: IDBOpenDBRequest;
    try {
      open = indexedDB.open(name, DB_VERSION);
    } catch (error) {
      throw named(`open the ${name} database`, error);
    }
    open.onupgradeneeded = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains(SUBMISSIONS)) db.createObjectStore(SUBMISSIONS);
      if (!db.objectStoreNames.contains(META)) db.createObjectStore(META);
    };
    return new IdbSubmissionStore(await request(open, `open the ${name} database`));
  }

  async loadAll(): Promise<Submission[]> {
    const tx = this.#db.transaction(SUBMISSIONS, 'readonly');
    return (await request(tx.objectStore(SUBMISSIONS).getAll(), 'read the submission history')) as Submission[];
  }

  async save(submission: Submission): Promise<void> {
    const tx = this.#db.transaction(SUBMISSIONS, 'readwrite', { durability: 'strict' });
    const done = committed(tx, 'save the submission');
    try {
      tx.objectStore(SUBMISSIONS).put(submission, submission.nonce);
    } catch (error) {
      done.catch(() => undefined); // the abort below rejects it too; this error is the one to report
      tx.abort();
      throw named('save the submission', error);
    }
    await done;
  }

  async loadClockOffsetMs(): Promise<number | undefined> {
    const tx = this.#db.transaction(META, 'readonly');
    const value: unknown = await request(tx.objectStore(META).get(CLOCK_OFFSET_KEY), 'read the clock offset');
    return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  }

  async saveClockOffsetMs(offsetMs: number): Promise<void> {
    const tx = this.#db.transaction(META, 'readwrite');
    const done = committed(tx, 'save the clock offset');
    tx.objectStore(META).put(offsetMs, CLOCK_OFFSET_KEY);
    await done;
  }

  close(): void {
    this.#db.close();
  }
}
