/**
 * A tiny promise wrapper over one IndexedDB object store (key → structured-clone value).
 * The device key pair, the student id and the submission history live here: IndexedDB is
 * what survives reloads, closed tabs and offline restarts on a phone.
 */
export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
  entries<T>(): Promise<Array<[string, T]>>;
}

/** An Error that names IndexedDB, the database and what it was doing, with the browser's own words. */
function named(what: string, dbName: string, error: unknown): Error {
  const detail = error instanceof DOMException ? `${error.name}: ${error.message}` : error instanceof Error ? error.message : String(error);
  return new Error(`IndexedDB could not ${what} ${dbName} (${detail})`);
}

function request<T>(req: IDBRequest<T>, what: string, dbName: string): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(named(what, dbName, req.error));
  });
}

export async function openKeyValueStore(dbName: string, storeName: string): Promise<KeyValueStore> {
  let open: IDBOpenDBRequest;
  try {
    open = indexedDB.open(dbName, 1);
  } catch (error) {
    throw named('open', dbName, error);
  }
  open.onupgradeneeded = () => open.result.createObjectStore(storeName);
  const db = await request(open, 'open', dbName);
  const run = <T>(mode: IDBTransactionMode, body: (store: IDBObjectStore) => IDBRequest<T>) =>
    request(body(db.transaction(storeName, mode).objectStore(storeName)), mode === 'readonly' ? 'read from' : 'write to', dbName);
  return {
    get: <T>(key: string) => run('readonly', (s) => s.get(key)) as Promise<T | undefined>,
    set: async (key, value) => {
      await run('readwrite', (s) => s.put(value, key));
    },
    entries: async <T>() => {
      const [keys, values] = await Promise.all([
        run('readonly', (s) => s.getAllKeys()),
        run('readonly', (s) => s.getAll()),
      ]);
      return keys.map((k, i) => [String(k), values[i] as T] as [string, T]);
    },
  };
}
