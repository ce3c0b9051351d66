/**
 * One session's Y.Doc on this phone: persisted in IndexedDB (y-indexeddb) and synced with the
 * relay (y-websocket, filtered to this device's items). This class only appends entries and
 * reads receipts: it never deletes or overwrites, because the relay refuses a deletion and a
 * client that once deleted re-sends that deletion on every sync (docs/SPEC.md, R1/R7).
 */
import { IndexeddbPersistence } from 'y-indexeddb';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import type { SealedEntry } from '../../crypto/index.ts';
import { DEVICE_QUERY_PARAM, appendEntry, entriesMap, receiptsMap } from '../../protocol/index.ts';

export interface SessionSyncOptions {
  sessionId: string;
  /** `ws(s)://<relay host>/sync`: y-websocket appends `/<room>`. */
  syncUrl: string;
  devicePublicKeyB64: string;
  /** Called when anything that moves a submission changes: sync state or receipts. */
  onChange: () => void;
}

export class SessionSync {
  readonly sessionId: string;
  readonly doc = new Y.Doc();
  readonly #persistence: IndexeddbPersistence;
  readonly #provider: WebsocketProvider;
  readonly #loaded: Promise<void>;

  constructor(options: SessionSyncOptions) {
    this.sessionId = options.sessionId;
    this.#persistence = new IndexeddbPersistence(`rollcall:${options.sessionId}`, this.doc);
    this.#loaded = this.#persistence.whenSynced.then(() => undefined);
    this.#provider = new WebsocketProvider(options.syncUrl, options.sessionId, this.doc, {
      params: { [DEVICE_QUERY_PARAM]: options.devicePublicKeyB64 },
      // One sync path: the relay. Tabs of this app share IndexedDB anyway.
      disableBc: true,
    });
    this.#provider.on('sync', () => options.onChange());
    this.#provider.on('status', () => options.onChange());
    receiptsMap(this.doc).observe(() => options.onChange());
  }

  /** Resolves once the doc holds what IndexedDB had. */
  whenLoaded(): Promise<void> {
    return this.#loaded;
  }

  /** True while connected to the relay and synced: what this doc holds, the relay holds too. */
  get isSynced(): boolean {
    return this.#provider.wsconnected && this.#provider.synced;
  }

  hasEntry(nonce: string): boolean {
    return entriesMap(this.doc).has(nonce);
  }

  receipt(nonce: string): unknown {
    return receiptsMap(this.doc).get(nonce);
  }

  /**
   * Appends the entry (once: a key already there is left alone) and resolves when IndexedDB
   * has committed it, so "saved on this phone" is true when the student reads it.
   */
  async append(entry: SealedEntry): Promise<void> {
    await this.#loaded;
    appendEntry(this.doc, entry);
    await this.#flushed();
  }

  destroy(): void {
    this.#provider.destroy();
    void this.#persistence.destroy();
    this.doc.destroy();
  }

  /**
   * y-indexeddb writes each update in its own readwrite transaction on the `updates` store.
   * A later transaction on the same store starts only after earlier ones finish, so waiting for
   * one tells us the write is committed.
   */
  async #flushed(): Promise<void> {
    const db = await this.#persistence._db;
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(['updates'], 'readonly');
      tx.objectStore('updates').count();
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB write failed'));
    });
  }
}
