/**
 * Follows one session's room on the relay as its validator (SPEC.md R10), hands every entry to
 * the judge, and appends the receipts the judge returns. It trusts nothing it reads: the judge
 * checks every entry, and the validator's own store, not the room, says what is decided.
 *
 * What the follower keeps is only what it learnt on the current connection: which nonces the
 * room already answers, and entries waiting for the judge. A refused update or a lost
 * connection starts a new connection that learns the room again; entries waiting survive it.
 * Crash safety: decisions are committed by the judge before receipts are sealed and sent, and
 * every entry heard on a (re)connection whose receipt the room lacks is answered again from
 * its stored decision, so a relay that lost data or a validator killed between the two heals.
 */
import { pooledRandomBytes } from '../../crypto/index.ts';
import { concatItemUpdates, encodeReceiptUpdate, type Receipt } from '../../protocol/index.ts';
import { RelayLink, type RoomItem, type SignedGrant } from './RelayLink.ts';

/** An entry as heard from the room: its key, its raw (untrusted) value and when we first heard it. */
export interface SeenEntry {
  nonce: string;
  raw: unknown;
  firstSeenMs: number;
  /** The room's receipt for it, if the room holds one (then the judge seals none: R7). */
  roomReceipt?: unknown;
}

/** What the follower needs from the validator's core; implemented over the store and the rules. */
export interface EntryJudge {
  /**
   * Decides what is new and looks up what was decided before (in one transaction with other
   * rooms' entries), and returns a receipt for every entry that has none in the room and can
   * be answered. Throws when nothing could be decided (then nothing was): the caller retries.
   */
  judge(sessionId: string, entries: SeenEntry[]): Promise<Receipt[]>;
  /** A grant for the session's room, signed now; undefined if the session is unknown. */
  grant(sessionId: string): SignedGrant | undefined;
  /** The follower's connection to the room went up or down (for the `delayed_sync` flag). */
  connectionChanged(sessionId: string, isConnected: boolean, atMs: number): void;
}

export interface RoomFollowerOptions {
  sessionId: string;
  /** The relay's base URL: http(s):// or ws(s)://, e.g. ws://127.0.0.1:5000. */
  relayUrl: string;
  /** Certificates (PEM) a wss:// relay's certificate may chain to, in place of Node's list (`--relay-ca`). */
  relayCa?: string[];
  judge: EntryJudge;
  /** The validator's Ed25519 secret key. */
  signingSecretKey: Uint8Array;
  log?: (line: string) => void;
  now?: () => number;
  /** Most receipts sent in one update message (keeps messages under the relay's size limit). */
  maxReceiptsPerMessage?: number;
  /** How long the oldest waiting entry waits for others before a batch goes to the judge (default 50 ms). */
  lingerMs?: number;
}

/**
 * Entries that trickle in are judged in batches: the oldest waits up to this long for others.
 * Each batch costs a transaction (a disk flush and a few pages written, whatever it holds), a
 * wake-up and a message of receipts, and an idle process pays more to wake up than the work it
 * then does. At 100 entries a second this makes batches of about six, and measured on the
 * project's machine the validator's CPU per entry went from 0.8 ms with 20 ms to 0.65 ms
 * (docs/performance.md), for at most 50 ms more between scan and receipt.
 */
export const DEFAULT_LINGER_MS = 50;
/** A batch goes to the judge at once when this many entries wait: under a burst nobody lingers. */
const LINGER_ENOUGH_ENTRIES = 100;

export class RoomFollower {
  readonly sessionId: string;
  readonly #options: RoomFollowerOptions;
  readonly #now: () => number;
  readonly #link: RelayLink;
  /** Nonces the room answers, as learnt on this connection (plus what we sent on it). */
  #receiptsInRoom = new Map<string, unknown>();
  /** Entries heard and not judged yet, in arrival order. Kept across reconnections. */
  readonly #queue = new Map<string, SeenEntry>();
  /** Nonces judged on this connection (a live update repeating one is not judged twice). */
  #judgedHere = new Set<string>();
  /**
   * Nonces the judge decided, on any connection. A sync that brings one of them with its
   * receipt in the room needs nothing: the judge would only look its decision up and return no
   * receipt. The validator hears the whole room on every connection, and every room of a relay
   * that died at once (docs/performance.md); one whose receipt the room lost is judged again.
   */
  readonly #decided = new Set<string>();
  #isDraining = false;
  /** After a failed batch, this many entries are judged one by one, so one entry that makes the
   * judge throw (a bug meeting hostile input) delays only itself, not its whole batch. */
  #entriesToIsolate = 0;
  #isClosed = false;
  /** Counts connections: a judgement that outlived its connection answers nothing (the next sync re-asks). */
  #connection = 0;
  #idle: Promise<void> = Promise.resolve();
  /** Ends the current linger early (enough entries are waiting, or the follower closes). */
  #endLinger: (() => void) | undefined;

  constructor(options: RoomFollowerOptions) {
    this.sessionId = options.sessionId;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#link = new RelayLink({
      relayUrl: options.relayUrl,
      ...(options.relayCa ? { relayCa: options.relayCa } : {}),
      room: options.sessionId,
      signingSecretKey: options.signingSecretKey,
      grant: () => options.judge.grant(options.sessionId),
      onItems: (items, isSync) => this.#onItems(items, isSync),
      onStatus: (isUp) => this.#onStatus(isUp),
      log: (line) => this.#log(line),
    });
  }

  get isConnected(): boolean {
    return this.#link.isUp;
  }

  /** Entries heard and not judged yet. */
  get waitingEntries(): number {
    return this.#queue.size;
  }



  /** The session's end moved (ended early, extended): present a newer grant. */
  grantChanged(): void {
    const grant = this.#options.judge.grant(this.sessionId);
    if (grant) this.#link.sendGrant(grant);
  }

  async close(): Promise<void> {
    this.#isClosed = true;
    this.#endLinger?.();
    await this.#idle.catch(() => undefined);
    this.#link.close();
  }

  #onStatus(isUp: boolean): void {
    if (!isUp) {
      // What the room holds is learnt again on the next connection.
      this.#connection++;
      this.#receiptsInRoom = new Map();
      this.#judgedHere = new Set();
    }
    if (!this.#isClosed || !isUp) this.#options.judge.connectionChanged(this.sessionId, isUp, this.#now());
  }

  #onItems(items: RoomItem[], isSync: boolean): void {
    const seenAt = this.#now();
    // Receipts first: an update lists its items by client, so an entry's receipt may follow it.
    for (const item of items) if (item.root === 'receipts') this.#receiptsInRoom.set(item.key, item.value);
    for (const item of items) {
      if (item.root === 'receipts' || this.#judgedHere.has(item.key)) continue;
      const roomReceipt = this.#receiptsInRoom.get(item.key);
      if (roomReceipt !== undefined && this.#decided.has(item.key)) continue;
      const queued = this.#queue.get(item.key);
      this.#queue.set(item.key, {
        nonce: item.key,
        raw: item.value,
        firstSeenMs: queued?.firstSeenMs ?? seenAt,
        ...(roomReceipt !== undefined ? { roomReceipt } : {}),
      });
    }
    if (isSync && items.length === 0) return;
    // Before the room's sync the link cannot send receipts: what is heard live until then waits
    // in the queue (the sync brings it again anyway) and is judged with the sync.
    if (!isSync && !this.#link.isUp) return;
    if (this.#queue.size >= LINGER_ENOUGH_ENTRIES) this.#endLinger?.();
    if (!this.#isDraining && this.#queue.size > 0) {
      this.#isDraining = true;
      this.#idle = this.#drain();
    }
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.size > 0 && !this.#isClosed) {
        if (this.#entriesToIsolate === 0) await this.#linger();
        if (this.#isClosed) break;
        const batch: SeenEntry[] = [];
        for (const seen of this.#queue.values()) {
          batch.push(seen);
          if (batch.length >= (this.#entriesToIsolate > 0 ? 1 : 2000)) break;
        }
        if (this.#entriesToIsolate > 0) this.#entriesToIsolate--;
        for (const seen of batch) this.#queue.delete(seen.nonce);
        const connection = this.#connection;
        let receipts: Receipt[];
        try {
          receipts = await this.#options.judge.judge(this.sessionId, batch);
        } catch (error) {
          // Nothing of this batch was decided (the judge commits in one transaction): put it
          // back and retry; a full disk must not lose an entry, only delay it.
          for (const seen of batch) if (!this.#queue.has(seen.nonce)) this.#queue.set(seen.nonce, seen);
          if (batch.length > 1) {
            this.#log(`judging ${batch.length} entries failed (${(error as Error).message}); retrying them one by one`);
            this.#entriesToIsolate = batch.length;
          } else {
            this.#log(`judging entry ${batch[0]!.nonce.slice(0, 8)} failed (${(error as Error).message}); retrying in 1 s`);
            await new Promise((resolve) => setTimeout(resolve, 1000));
          }
          continue;
        }
        for (const seen of batch) this.#decided.add(seen.nonce);
        // The decisions are stored either way. If the connection they were heard on is gone, or
        // is not synced yet (its receipts could not be sent), that connection's sync hears these
        // entries again and answers them from the store.
        if (connection !== this.#connection || !this.#link.isUp) continue;
        for (const seen of batch) this.#judgedHere.add(seen.nonce);
        if (!this.#isClosed) this.#appendReceipts(receipts);
      }
    } finally {
      this.#isDraining = false;
    }
  }

  /** Waits until the oldest queued entry is `lingerMs` old, unless enough entries already wait. */
  async #linger(): Promise<void> {
    if (this.#queue.size >= LINGER_ENOUGH_ENTRIES) return;
    const oldest = this.#queue.values().next().value!;
    const waitMs = oldest.firstSeenMs + (this.#options.lingerMs ?? DEFAULT_LINGER_MS) - this.#now();
    if (waitMs <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#endLinger?.(), waitMs);
      this.#endLinger = () => {
        clearTimeout(timer);
        this.#endLinger = undefined;
        resolve();
      };
    });
  }

  /**
   * Each receipt is written by a fresh Yjs client (R8); a batch of them is merged into one
   * update per message so a full lecture hall costs a few messages, not a thousand. A receipt
   * that cannot be sent now (the link is down) is not lost: its decision is stored, and the next
   * connection's sync answers the entry again.
   */
  #appendReceipts(receipts: Receipt[]): void {
    const max = this.#options.maxReceiptsPerMessage ?? 200;
    const fresh = receipts.filter((receipt) => !this.#receiptsInRoom.has(receipt.n));
    for (let i = 0; i < fresh.length; i += max) {
      const chunk = fresh.slice(i, i + max);
      if (!this.#link.sendUpdate(encodeReceiptBatch(chunk))) return;
      for (const receipt of chunk) this.#receiptsInRoom.set(receipt.n, receipt);
    }
  }

  #log(line: string): void {
    this.#options.log?.(`[follow ${this.sessionId.slice(0, 8)}] ${line}`);
  }
}

/**
 * One V1 update holding `receipts`, each written by its own fresh Yjs client at clock 0 (R8):
 * their one-receipt updates laid side by side (protocol's `concatItemUpdates`), the same bytes
 * as `Y.mergeUpdates` of them (tested). Client ids are random and distinct within the batch.
 */
export function encodeReceiptBatch(receipts: readonly Receipt[]): Uint8Array {
  const clientIds = distinctClientIds(receipts.length);
  // Distinct clients at clock 0: never a gap, so never undefined.
  return concatItemUpdates(receipts.map((receipt, index) => encodeReceiptUpdate(receipt, clientIds[index]!)))!;
}

/** `count` distinct random 32-bit Yjs client ids, largest first (unpredictable: a phone must not pre-empt one). */
function distinctClientIds(count: number): number[] {
  const ids = new Set<number>();
  while (ids.size < count) {
    const bytes = pooledRandomBytes(4 * (count - ids.size));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let offset = 0; offset < bytes.length; offset += 4) ids.add(view.getUint32(offset));
  }
  return [...ids].sort((a, b) => b - a);
}
