/**
 * One session's Y.Doc on a student's device: kept by a SessionDocStore and, when the client
 * is online, synced with the relay by y-websocket (`?device=<d>`: filtered to this device's items).
 * It only appends entries and reads receipts: never deletes or overwrites, because the relay
 * refuses a deletion and a client that once deleted re-sends it on every sync (docs/SPEC.md, R1/R7).
 */
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { DEVICE_QUERY_PARAM, appendEntry, entriesMap, receiptsMap, type Entry } from '../../protocol/index.ts';
import type { PersistedDoc, SessionDocStore } from './SessionDocStore.ts';

/** Close codes 4400–4499 are the relay's refusals (docs/SPEC.md R6): retrying the same thing will not help. */
function isRefusal(code: number | undefined): code is number {
  return code !== undefined && code >= 4400 && code < 4500;
}

/** A close of the session socket with a refusal code (4400–4499) and the relay's reason. */
export interface RelayRefusal {
  code: number;
  reason: string;
}

/** One session's storage and socket, and what to call when they change. */
export interface SessionSyncOptions {
  sessionId: string;
  docs: SessionDocStore;
  /** `ws(s)://<relay>/sync` (y-websocket appends `/<room>`); undefined: kept here, never sent. */
  syncUrl: string | undefined;
  devicePublicKeyB64: string;
  /** y-websocket's WebSocket constructor (Node: `ws`); the global one by default. */
  webSocket: typeof WebSocket | undefined;
  /** Anything that can move a submission changed: sync state or receipts. */
  onChange: () => void;
  /** The socket opened (true) or closed (false). */
  onSocket: (isConnected: boolean) => void;
  onRefusal: (refusal: RelayRefusal) => void;
}

export class SessionSync {
  readonly sessionId: string;
  readonly doc = new Y.Doc();
  readonly #loaded: Promise<PersistedDoc>;
  #provider: WebsocketProvider | undefined;
  #isDestroyed = false;

  constructor(options: SessionSyncOptions) {
    this.sessionId = options.sessionId;
    this.#loaded = options.docs.open(options.sessionId, this.doc);
    receiptsMap(this.doc).observe(() => options.onChange());
    // Connect only once the kept doc is loaded: the first sync then already carries what was saved.
    void this.#loaded.then(
      () => {
        if (this.#isDestroyed || options.syncUrl === undefined) return;
        this.#provider = this.#connect(options, options.syncUrl);
      },
      () => undefined, // whenLoaded() reports it to whoever waits
    );
  }

  /** Resolves once the doc holds what was kept; rejects naming what failed. */
  async whenLoaded(): Promise<void> {
    await this.#loaded;
  }

  /** Connected to the relay and synced: what this doc holds, the relay holds too. */
  get isSynced(): boolean {
    return Boolean(this.#provider?.wsconnected && this.#provider.synced);
  }

  hasEntry(nonce: string): boolean {
    return entriesMap(this.doc).has(nonce);
  }

  receipt(nonce: string): unknown {
    return receiptsMap(this.doc).get(nonce);
  }

  /** Appends the entry (once: a key already there is left alone) and resolves when it is durable. */
  async append(entry: Entry): Promise<void> {
    const persisted = await this.#loaded;
    appendEntry(this.doc, entry);
    await persisted.flushed();
  }

  async destroy(): Promise<void> {
    this.#isDestroyed = true;
    this.#provider?.destroy();
    const persisted = await this.#loaded.catch(() => undefined);
    await persisted?.close();
    this.doc.destroy();
  }

  #connect(options: SessionSyncOptions, syncUrl: string): WebsocketProvider {
    const provider = new WebsocketProvider(syncUrl, options.sessionId, this.doc, {
      params: { [DEVICE_QUERY_PARAM]: options.devicePublicKeyB64 },
      // One sync path: the relay. Tabs of the phone app share IndexedDB anyway.
      disableBc: true,
      ...(options.webSocket ? { WebSocketPolyfill: options.webSocket } : {}),
    });
    provider.on('sync', () => options.onChange());
    provider.on('status', ({ status }) => {
      options.onSocket(status === 'connected');
      options.onChange();
    });
    provider.on('connection-close', (event) => {
      if (isRefusal(event?.code)) options.onRefusal({ code: event.code, reason: event.reason ?? '' });
    });
    return provider;
  }
}
