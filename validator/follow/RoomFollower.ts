/**
 * Follows one session's room on the relay as an ordinary y-websocket peer (no `?device=`, so it
 * gets the whole room), hands every entry it has not decided yet to the judge, and appends the
 * receipts the judge returns. It trusts nothing it reads: the judge checks every entry.
 *
 * Crash safety: decisions are persisted by the judge before their receipts are appended, and
 * after every (re)sync the follower re-appends receipts that the room lacks for decided
 * entries, so a relay that lost data or a validator killed between the two steps heals itself.
 */
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { SYNC_PATH_PREFIX, encodeReceiptUpdate, entriesMap, receiptsMap, type Receipt } from '../../protocol/index.ts';

/** An entry as first seen in the room: its key, its raw (untrusted) value and when we saw it. */
export interface SeenEntry {
  nonce: string;
  raw: unknown;
  firstSeenMs: number;
}

/** What the follower needs from the validator's core; implemented over the store and the rules. */
export interface EntryJudge {
  /** True when this entry nonce already has a decision (a restart skips it). */
  isDecided(sessionId: string, nonce: string): boolean;
  /** Decides and persists a batch of entries; returns the receipts to append (none for a
   * replay of an entry decided before: it keeps its stored decision). */
  judge(sessionId: string, entries: SeenEntry[]): Promise<Receipt[]>;
  /** A fresh receipt for an entry decided earlier whose receipt the room lacks; `undefined` if
   * it is not decided (or cannot be answered). */
  reissueReceipt(sessionId: string, nonce: string): Receipt | undefined;
  /** The follower's connection to the room went up or down (for the `delayed_sync` flag). */
  connectionChanged(sessionId: string, isConnected: boolean, atMs: number): void;
}

export interface RoomFollowerOptions {
  sessionId: string;
  /** The relay's base URL: http(s):// or ws(s)://, e.g. ws://127.0.0.1:5000. */
  relayUrl: string;
  judge: EntryJudge;
  log?: (line: string) => void;
  now?: () => number;
  /** Most receipts sent in one update message (keeps messages under the relay's size limit). */
  maxReceiptsPerMessage?: number;
}

/** Origin of receipts the follower applies to its own doc (sent on to the relay by the provider). */
const FOLLOWER_ORIGIN = Symbol('validator-receipts');

export class RoomFollower {
  readonly sessionId: string;
  readonly #doc = new Y.Doc();
  readonly #provider: WebsocketProvider;
  readonly #options: RoomFollowerOptions;
  readonly #now: () => number;
  /** Keys seen but not yet judged, in arrival order, with their first-seen time. */
  readonly #queue = new Map<string, number>();
  #isDraining = false;
  /** After a failed batch, this many entries are judged one by one, so one entry that makes the
   * judge throw (a bug meeting hostile input) delays only itself, not its whole batch. */
  #entriesToIsolate = 0;
  #isConnected = false;
  #isClosed = false;
  #idle: Promise<void> = Promise.resolve();

  constructor(options: RoomFollowerOptions) {
    this.sessionId = options.sessionId;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const url = new URL(options.relayUrl);
    if (url.protocol === 'http:') url.protocol = 'ws:';
    if (url.protocol === 'https:') url.protocol = 'wss:';
    const syncUrl = new URL(SYNC_PATH_PREFIX.replace(/\/$/, ''), url).href;

    entriesMap(this.#doc).observe((event) => {
      const seenAt = this.#now();
      for (const key of event.keysChanged) this.#enqueue(key, seenAt);
    });
    this.#provider = new WebsocketProvider(syncUrl, this.sessionId, this.#doc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      maxBackoffTime: 2000,
    });
    this.#provider.on('sync', (isSynced: boolean) => {
      if (isSynced) this.#onSynced();
    });
    this.#provider.on('status', ({ status }: { status: string }) => {
      if (status !== 'connected' && this.#isConnected) {
        this.#isConnected = false;
        options.judge.connectionChanged(this.sessionId, false, this.#now());
      }
    });
    this.#provider.on('connection-close', (event: { code?: number; reason?: string } | null) => {
      if (event?.code && event.code >= 4400 && event.code < 4500) {
        // The relay refused something we sent: a bug on one side. Say so; y-websocket stops
        // reconnecting on 44xx codes, so reconnect by hand after a pause.
        this.#log(`relay closed the room with ${event.code} ${event.reason ?? ''}; reconnecting in 2 s`);
        setTimeout(() => {
          if (!this.#isClosed) this.#provider.connect();
        }, 2000);
      }
    });
  }

  get isConnected(): boolean {
    return this.#isConnected;
  }

  /** Entries in the follower's copy of the room. */
  get entryCount(): number {
    return entriesMap(this.#doc).size;
  }

  get receiptCount(): number {
    return receiptsMap(this.#doc).size;
  }

  /** Resolves when everything seen so far has been judged and answered. */
  whenIdle(): Promise<void> {
    return this.#idle;
  }

  async close(): Promise<void> {
    this.#isClosed = true;
    if (this.#isConnected) this.#options.judge.connectionChanged(this.sessionId, false, this.#now());
    this.#isConnected = false;
    await this.#idle.catch(() => undefined);
    this.#provider.destroy();
    this.#doc.destroy();
  }

  #onSynced(): void {
    if (!this.#isConnected) {
      this.#isConnected = true;
      this.#options.judge.connectionChanged(this.sessionId, true, this.#now());
    }
    const seenAt = this.#now();
    for (const key of entriesMap(this.#doc).keys()) this.#enqueue(key, seenAt);
    this.#reissueMissingReceipts();
  }

  #enqueue(nonce: string, seenAtMs: number): void {
    // Already-decided nonces are not filtered here: the judge looks each one up anyway (a replay
    // gets its stored decision and no new receipt), so a second lookup per entry would be waste.
    if (this.#queue.has(nonce) || receiptsMap(this.#doc).has(nonce)) return;
    this.#queue.set(nonce, seenAtMs);
    if (!this.#isDraining) {
      this.#isDraining = true;
      // Let the rest of this sync message's entries arrive first, so they are judged in one batch.
      this.#idle = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
    }
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.size > 0 && !this.#isClosed) {
        const batch: SeenEntry[] = [];
        const entries = entriesMap(this.#doc);
        for (const [nonce, firstSeenMs] of this.#queue) {
          batch.push({ nonce, raw: entries.get(nonce), firstSeenMs });
          if (batch.length >= (this.#entriesToIsolate > 0 ? 1 : 1000)) break;
        }
        if (this.#entriesToIsolate > 0) this.#entriesToIsolate--;
        for (const seen of batch) this.#queue.delete(seen.nonce);
        let receipts: Receipt[];
        try {
          receipts = await this.#options.judge.judge(this.sessionId, batch);
        } catch (error) {
          // Nothing of this batch was decided (the judge persists in one transaction): put it
          // back and retry shortly; a full disk must not lose an entry, only delay it.
          for (const seen of batch) this.#queue.set(seen.nonce, seen.firstSeenMs);
          if (batch.length > 1) {
            this.#log(`judging ${batch.length} entries failed (${(error as Error).message}); retrying them one by one`);
            this.#entriesToIsolate = batch.length;
          } else {
            this.#log(`judging entry ${batch[0]!.nonce.slice(0, 8)} failed (${(error as Error).message}); retrying in 1 s`);
            await new Promise((resolve) => setTimeout(resolve, 1000));
          }
          continue;
        }
        if (!this.#isClosed) this.#appendReceipts(receipts);
      }
    } finally {
      this.#isDraining = false;
    }
  }

  #reissueMissingReceipts(): void {
    const receipts = receiptsMap(this.#doc);
    const missing: Receipt[] = [];
    for (const nonce of entriesMap(this.#doc).keys()) {
      if (receipts.has(nonce)) continue;
      const receipt = this.#options.judge.reissueReceipt(this.sessionId, nonce); // undefined if undecided
      if (receipt) missing.push(receipt);
    }
    if (missing.length > 0) {
      this.#log(`re-appending ${missing.length} receipt(s) the room had lost`);
      this.#appendReceipts(missing);
    }
  }

  /**
   * Each receipt is written by a fresh Yjs client (DESIGN.md, R8); a batch of them is merged
   * into one update per message so a full lecture hall costs a few messages, not a thousand.
   */
  #appendReceipts(receipts: Receipt[]): void {
    const max = this.#options.maxReceiptsPerMessage ?? 200;
    const existing = receiptsMap(this.#doc);
    const fresh = receipts.filter((r) => !existing.has(r.n));
    for (let i = 0; i < fresh.length; i += max) {
      const updates = fresh.slice(i, i + max).map(encodeReceiptUpdate);
      Y.applyUpdate(this.#doc, Y.mergeUpdates(updates), FOLLOWER_ORIGIN);
    }
  }

  #log(line: string): void {
    this.#options.log?.(`[follow ${this.sessionId.slice(0, 8)}] ${line}`);
  }
}
