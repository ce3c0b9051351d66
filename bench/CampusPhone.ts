/**
 * A wire-level phone that survives its relay dying (the campus benchmark): like RawStudent it
 * sends a pre-encoded entry and keeps the undecoded message that carries its receipt, but when
 * its socket closes before the receipt it reconnects (through the load balancer, to whichever
 * relay is alive) and does what the real phone does on every connect: sync step 1 with its
 * (empty) state vector, then its entry again if it had sent it. A relay that has the entry
 * counts the copy as a duplicate; one whose room has the receipt sends it in sync step 2.
 */
import WebSocket from 'ws';
import * as Y from 'yjs';
import { encodeSyncStep1, encodeSyncUpdate } from '../relay/syncMessages.ts';

const RECEIPTS = Buffer.from('receipts');
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2000;

/**
 * Sync step 1 of a phone that holds nothing yet (the relay answers with what it may see). Made
 * once: a Y.Doc's constructor draws its guid from 31 random calls, and a phone worker making
 * one per socket spent a quarter of its CPU on them while its phones failed over
 * (docs/performance.md); a real phone keeps its one document.
 */
const EMPTY_SYNC_STEP1 = encodeSyncStep1(Y.encodeStateVector(new Y.Doc()));

export interface CampusPhoneOptions {
  url: string;
  /** The message that carried this phone's receipt (a y-websocket sync message, undecoded). */
  onReceipt: (message: Buffer) => void;
  /**
   * After its receipt the phone stays connected and reconnects if its socket drops, as the app
   * left open does (`--answered-phones stay`); by default an answered phone stops reconnecting,
   * as one whose student has put it away.
   */
  staysOpen?: boolean;
}

export class CampusPhone {
  bytesReceived = 0;
  /** Sockets that closed under this phone before its receipt came (its relay died). */
  reconnects = 0;
  /** From the last socket closing under this phone to the next one open (ms; the failover's first part). */
  reopenMs: number | undefined;
  /** When the socket that followed such a close opened (performance.now()). */
  reopenedAt: number | undefined;
  /**
   * The failover's steps on the system's monotonic clock (ms, `monotonicMs`, comparable across
   * processes): the open socket closing under the phone, the first attempt to open another (its
   * backoff timer firing), the attempt that succeeded, and its socket open.
   */
  readonly failover: { closedAt?: number; firstAttemptAt?: number; lastAttemptAt?: number; openAt?: number } = {};
  #closedAt: number | undefined;
  /** Sockets that closed under this phone after its receipt, with `staysOpen`. */
  closesAfterReceipt = 0;
  /** Of those, the ones followed by a new socket open (the phone reconnected). */
  reconnectsAfterReceipt = 0;
  /** From such a close to the next socket open (ms). */
  reopenAfterReceiptMs: number | undefined;
  #closedAfterReceiptAt: number | undefined;
  /** Why attempts to open a socket failed (HTTP status or error code → count), over the phone's life. */
  readonly failures = new Map<string, number>();
  readonly #options: CampusPhoneOptions;
  #socket: WebSocket | undefined;
  #nonce: Buffer | undefined;
  #entryMessage: Uint8Array | undefined;
  #isSubmitted = false;
  #isAnswered = false;
  #isClosed = false;
  #failedAttempts = 0;
  #onFirstOpen: () => void = () => undefined;

  constructor(options: CampusPhoneOptions) {
    this.#options = options;
  }

  /** Opens a socket and sends sync step 1; resolves once one is open (refused upgrades are retried). */
  connect(): Promise<void> {
    const isOpen = new Promise<void>((resolve) => (this.#onFirstOpen = resolve));
    this.#open();
    return isOpen;
  }

  /** Encodes the entry's update ahead of `submit`. */
  prepare(nonce: string, update: Uint8Array): void {
    this.#nonce = Buffer.from(nonce);
    this.#entryMessage = encodeSyncUpdate(update);
  }

  submit(): void {
    this.#isSubmitted = true;
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(this.#entryMessage!);
    // Not open: the entry goes out when the socket that is on its way opens.
  }

  get isAnswered(): boolean {
    return this.#isAnswered;
  }

  close(): void {
    this.#isClosed = true;
    this.#socket?.terminate();
  }

  #open(): WebSocket {
    if (this.#closedAt !== undefined) {
      this.failover.firstAttemptAt ??= monotonicMs();
      this.failover.lastAttemptAt = monotonicMs();
    }
    const socket = new WebSocket(this.#options.url, { perMessageDeflate: false });
    this.#socket = socket;
    let wasOpen = false;
    socket.on('open', () => {
      wasOpen = true;
      this.#failedAttempts = 0;
      if (this.#closedAt !== undefined) {
        this.failover.openAt = monotonicMs();
        this.reopenedAt = performance.now();
        this.reopenMs = this.reopenedAt - this.#closedAt;
        this.#closedAt = undefined;
      }
      if (this.#closedAfterReceiptAt !== undefined) {
        this.reconnectsAfterReceipt++;
        this.reopenAfterReceiptMs = performance.now() - this.#closedAfterReceiptAt;
        this.#closedAfterReceiptAt = undefined;
      }
      this.#onFirstOpen();
      socket.send(EMPTY_SYNC_STEP1);
      if (this.#isSubmitted && !this.#isAnswered) socket.send(this.#entryMessage!);
    });
    socket.on('message', (data: Buffer) => {
      this.bytesReceived += data.length;
      if (this.#isAnswered || !this.#nonce) return;
      if (data.includes(this.#nonce) && data.includes(RECEIPTS)) {
        this.#isAnswered = true;
        this.#options.onReceipt(data);
      }
    });
    socket.on('unexpected-response', (_request, response) => {
      this.#countFailure(`HTTP ${response.statusCode}`);
      socket.terminate();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!wasOpen) this.#countFailure(error.code ?? error.message.slice(0, 40));
    });
    socket.on('close', () => {
      // An idle phone (nothing prepared) reconnects too: it stays on the campus's relays.
      if (this.#isClosed || this.#socket !== socket) return;
      if (this.#isAnswered && !this.#options.staysOpen) return;
      if (this.#isAnswered) {
        // Its sync step 1 is still the empty one: the relay sends its entry and receipt again
        // (a kilobyte) where a real phone's state vector would get nothing; the cost that
        // matters here, a socket through the balancer to another relay, is the same.
        if (wasOpen) {
          this.closesAfterReceipt++;
          this.#closedAfterReceiptAt = performance.now();
        }
      } else if (wasOpen) {
        this.reconnects++;
        this.#closedAt = performance.now();
        this.failover.closedAt = monotonicMs();
        delete this.failover.firstAttemptAt;
      }
      const waitMs = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.#failedAttempts++) * (0.5 + Math.random());
      setTimeout(() => {
        if (!this.#isClosed) this.#open();
      }, waitMs);
    });
    return socket;
  }

  #countFailure(reason: string): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }
}

/** The system's monotonic clock in ms (CLOCK_MONOTONIC: the same in every process of the machine). */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1000n) / 1000;
}
