/**
 * The validator's connection to one room on a relay: the y-websocket sync protocol without a
 * Y.Doc, plus Rollcall's validator proof (SPEC.md R10). It proves its identity by signing the
 * relay's challenge and presents the room's grant, then asks for the whole room (an empty state
 * vector), hands every item it hears to its owner, and sends receipts.
 *
 * No local copy of the room: what the room holds is learnt again from the relay on every
 * connection, so a refused update cannot leave the validator with a view the relay disagrees
 * with (the follower that wedged kept a Y.Doc and applied its receipts before the relay did).
 * Reconnects with exponential backoff and jitter (a link that was up a while retries at once,
 * see `reconnectDelayMs`); never throws into `ws`.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { nativeSignDetached as signDetached } from '../../crypto/nativeEd25519.ts';
import {
  ROOT_ENTRIES,
  ROOT_RECEIPTS,
  SYNC_PATH_PREFIX,
  VALIDATOR_MESSAGE_TYPE,
  challengeSigningBytes,
  decodeValidatorMessage,
  encodeValidatorMessage,
} from '../../protocol/index.ts';

/** A grant as the validator signed it (protocol/trust.ts). */
export interface SignedGrant {
  grantJson: string;
  signature: Uint8Array;
}

/** One item of the room: the first write of `key` in `entries` or `receipts`, value untrusted. */
export interface RoomItem {
  root: 'entries' | 'receipts';
  key: string;
  value: unknown;
}

export interface RelayLinkOptions {
  /** The relay's base URL: http(s):// or ws(s)://. */
  relayUrl: string;
  room: string;
  /** The validator's Ed25519 secret key (signs the challenge). */
  signingSecretKey: Uint8Array;
  /** A fresh grant for the room, asked at each connection. */
  grant(): SignedGrant | undefined;
  /** Items heard from the relay, in the order heard; `isSync` for the answer to our step 1. */
  onItems(items: RoomItem[], isSync: boolean): void;
  /** The connection is proven and the room synced (true), or it went down (false). */
  onStatus(isUp: boolean): void;
  log(line: string): void;
  /** Certificates (PEM) a wss:// relay's certificate may chain to, in place of Node's list (`--relay-ca`). */
  relayCa?: string[];
  /** Backoff bounds (ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * A connection that hears nothing (no message, no pong) for this long is taken for dead and
   * made again (default 30 s, as y-websocket): after a laptop sleeps or a network drops without a
   * FIN, TCP alone can take many minutes to notice.
   */
  silenceTimeoutMs?: number;
}

export const DEFAULT_SILENCE_TIMEOUT_MS = 30_000;

const MESSAGE_SYNC = 0;
const SYNC_STEP1 = 0;
const SYNC_STEP2 = 1;
const SYNC_UPDATE = 2;
const MESSAGE_AWARENESS = 1;
const MESSAGE_AUTH = 2;
/** What an empty Y.Doc's state vector encodes to: "send me everything". */
const EMPTY_STATE_VECTOR = Y.encodeStateVector(new Y.Doc());

/** A link up at least this long when it dropped retries within `QUICK_RETRY_MAX_MS` (its relay died; another is there). */
export const QUICK_RETRY_AFTER_UP_MS = 1_000;
export const QUICK_RETRY_MAX_MS = 100;

/**
 * How long to wait before connecting again. The first retry of a link that had been up for
 * `QUICK_RETRY_AFTER_UP_MS` waits only 0–100 ms: its relay died or drained, and behind a load
 * balancer another relay is already there, while the phones of the room wait for their receipts
 * (issue 10's failover; y-websocket's own first retry is 100 ms). Otherwise exponential backoff
 * with jitter between `minMs` and a ceiling that doubles per failure up to `maxMs`; a refusal
 * (44xx: a person must act) waits at least 2 s, up to 30 s.
 */
export function reconnectDelayMs(state: { failures: number; isRefusal: boolean; upForMs: number | undefined }, bounds: { minMs: number; maxMs: number }, random: () => number = Math.random): number {
  const { failures, isRefusal, upForMs } = state;
  if (!isRefusal && failures <= 1 && upForMs !== undefined && upForMs >= QUICK_RETRY_AFTER_UP_MS) return random() * QUICK_RETRY_MAX_MS;
  const max = isRefusal ? 30_000 : bounds.maxMs;
  const ceiling = Math.min(max, bounds.minMs * 2 ** Math.min(failures, 10));
  return isRefusal ? Math.max(2_000, ceiling) : bounds.minMs + random() * Math.max(0, ceiling - bounds.minMs);
}

export function syncUrlOf(relayUrl: string, room: string): string {
  const url = new URL(relayUrl);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  return new URL(`${SYNC_PATH_PREFIX}${room}`, url).href;
}

export class RelayLink {
  readonly #options: RelayLinkOptions;
  #socket: WebSocket | undefined;
  #isUp = false;
  /** When the link last came up (proven and synced), or undefined while it is down. */
  #upSinceMs: number | undefined;
  #isClosed = false;
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Why the relay last refused us (auth "permission denied"), for the log line at close. */
  #deniedReason: string | undefined;

  constructor(options: RelayLinkOptions) {
    this.#options = options;
    this.#connect();
  }

  /** Proven, synced and open. */
  get isUp(): boolean {
    return this.#isUp;
  }

  /** Sends a self-contained update (merged receipts). False when not up: the caller keeps them. */
  sendUpdate(update: Uint8Array): boolean {
    if (!this.#isUp || !this.#socket) return false;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    encoding.writeVarUint(encoder, SYNC_UPDATE);
    encoding.writeVarUint8Array(encoder, update);
    this.#socket.send(encoding.toUint8Array(encoder));
    return true;
  }

  /** Presents a newer grant on the open connection (the session was ended early or extended). */
  sendGrant(grant: SignedGrant): void {
    if (!this.#isUp || !this.#socket) return;
    this.#socket.send(encodeValidatorMessage({ kind: 'grant', grantJson: grant.grantJson, grantSignature: grant.signature }));
  }

  close(): void {
    this.#isClosed = true;
    clearTimeout(this.#timer);
    this.#socket?.terminate();
    this.#setUp(false);
  }

  #connect(): void {
    if (this.#isClosed) return;
    this.#deniedReason = undefined;
    const socket = new WebSocket(syncUrlOf(this.#options.relayUrl, this.#options.room), { perMessageDeflate: false, ...(this.#options.relayCa ? { ca: this.#options.relayCa } : {}) });
    socket.binaryType = 'nodebuffer';
    this.#socket = socket;
    const silenceMs = this.#options.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
    let heardAtMs = Date.now();
    const heard = () => (heardAtMs = Date.now());
    // Ask for a pong a few times per silence period; the relay also sends a keep-alive to quiet peers.
    const watchdog = setInterval(() => {
      if (Date.now() - heardAtMs > silenceMs) {
        this.#options.log(`heard nothing from the relay for ${Math.round((Date.now() - heardAtMs) / 1000)} s (asleep, or the network dropped); connecting again`);
        socket.terminate();
        return;
      }
      if (socket.readyState === WebSocket.OPEN) socket.ping();
    }, Math.max(50, Math.floor(silenceMs / 3)));
    watchdog.unref?.();
    socket.on('open', heard);
    socket.on('pong', heard);
    socket.on('message', (data: Buffer) => {
      heard();
      try {
        this.#receive(socket, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      } catch (error) {
        this.#options.log(`could not handle a message from the relay (${error instanceof Error ? error.message : String(error)}); reconnecting`);
        socket.terminate();
      }
    });
    socket.on('error', () => {}); // 'close' follows
    socket.on('unexpected-response', (_request, response) => {
      this.#options.log(`the relay refused the connection: HTTP ${response.statusCode}`);
      socket.terminate();
    });
    socket.on('close', (code: number, reason: Buffer) => {
      clearInterval(watchdog);
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      const upForMs = this.#upSinceMs === undefined ? undefined : Date.now() - this.#upSinceMs;
      this.#setUp(false);
      if (this.#isClosed) return;
      this.#failures++;
      const isRefusal = code >= 4400 && code < 4500;
      if (isRefusal) this.#options.log(`the relay closed the room with ${code}: ${this.#deniedReason ?? reason.toString()}`);
      this.#scheduleReconnect(isRefusal, upForMs);
    });
  }

  #scheduleReconnect(isRefusal: boolean, upForMs: number | undefined): void {
    const delayMs = reconnectDelayMs({ failures: this.#failures, isRefusal, upForMs }, { minMs: this.#options.minBackoffMs ?? 250, maxMs: this.#options.maxBackoffMs ?? 5_000 });
    this.#timer = setTimeout(() => this.#connect(), delayMs);
    this.#timer.unref?.();
  }

  #setUp(isUp: boolean): void {
    if (this.#isUp === isUp) return;
    this.#isUp = isUp;
    this.#upSinceMs = isUp ? Date.now() : undefined;
    this.#options.onStatus(isUp);
  }

  #receive(socket: WebSocket, data: Uint8Array): void {
    const decoder = decoding.createDecoder(data);
    const type = decoding.readVarUint(decoder);
    if (type === VALIDATOR_MESSAGE_TYPE) {
      const message = decodeValidatorMessage(decoder);
      if (message?.kind === 'challenge') {
        const grant = this.#options.grant();
        if (!grant) {
          this.#options.log('no grant for this room (the session is gone?); not connecting');
          this.close();
          return;
        }
        const challengeSignature = signDetached(challengeSigningBytes(this.#options.room, message.challenge), this.#options.signingSecretKey);
        socket.send(encodeValidatorMessage({ kind: 'hello', grantJson: grant.grantJson, grantSignature: grant.signature, challengeSignature }));
      } else if (message?.kind === 'welcome') {
        // Ask for everything: the room, not a local cache, says what it holds.
        const encoder = encoding.createEncoder();
        encoding.writeVarUint(encoder, MESSAGE_SYNC);
        encoding.writeVarUint(encoder, SYNC_STEP1);
        encoding.writeVarUint8Array(encoder, EMPTY_STATE_VECTOR);
        socket.send(encoding.toUint8Array(encoder));
      }
      return;
    }
    if (type === MESSAGE_AUTH) {
      decoding.readVarUint(decoder);
      this.#deniedReason = decoding.readVarString(decoder);
      return;
    }
    if (type === MESSAGE_AWARENESS) return; // keep-alive only
    if (type !== MESSAGE_SYNC) return;
    const step = decoding.readVarUint(decoder);
    const body = decoding.readVarUint8Array(decoder);
    if (step === SYNC_STEP1) return; // the relay's state vector: we hold nothing it lacks
    const items = itemsOf(body);
    if (step === SYNC_STEP2) {
      this.#failures = 0;
      this.#options.onItems(items, true);
      this.#setUp(true);
    } else if (items.length > 0) {
      this.#options.onItems(items, false);
    }
  }
}

/** The first writes of root-map keys in an update (what relay admission lets in), receipts first. */
export function itemsOf(update: Uint8Array): RoomItem[] {
  const { structs } = Y.decodeUpdate(update);
  const entries: RoomItem[] = [];
  const receipts: RoomItem[] = [];
  for (const struct of structs) {
    if (!(struct instanceof Y.Item) || !(struct.content instanceof Y.ContentAny)) continue;
    const parent: unknown = struct.parent;
    if (typeof parent !== 'string' || typeof struct.parentSub !== 'string') continue;
    const value = struct.content.arr[0];
    if (parent === ROOT_ENTRIES) entries.push({ root: 'entries', key: struct.parentSub, value });
    else if (parent === ROOT_RECEIPTS) receipts.push({ root: 'receipts', key: struct.parentSub, value });
  }
  // Receipts first: an entry is judged knowing whether the room already answers it.
  return [...receipts, ...entries];
}
