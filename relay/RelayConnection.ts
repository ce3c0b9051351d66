/**
 * One y-websocket peer of a room. Checks size and rate (R3) before decoding anything, buffers
 * messages until the room is loaded (R5), routes sync and awareness, and on a refusal tells
 * the peer why and closes (R6). Nothing here throws into the socket's callbacks.
 */
import { CloseCode, TokenBucket, type RelayRuleId } from '../protocol/index.ts';
import type { RelayLimits } from './limits.ts';
import type { Refusal } from './inspectUpdate.ts';
import { refuse } from './inspectUpdate.ts';
import type { RelayRoom } from './RelayRoom.ts';
import { EMPTY_AWARENESS, decodeMessage, encodeAwareness, encodePermissionDenied } from './syncMessages.ts';

/** The little of a WebSocket the relay uses (so rooms and tests do not depend on `ws`). */
export interface RelaySocket {
  send(message: Uint8Array): void;
  close(code: number, reason: string): void;
}

export interface ConnectionOptions {
  id: number;
  socket: RelaySocket;
  /** The `?device=` key: a filtered connection; undefined: the whole room. */
  device: string | undefined;
  limits: RelayLimits;
  now: () => number;
  onRefused(connection: RelayConnection, refusal: Refusal): void;
  /** A bug surfaced while handling a message (logged; the connection is closed with 1011). */
  onError(connection: RelayConnection, error: unknown): void;
}

/** A WebSocket close reason is at most 123 bytes. */
function closeReason(rule: RelayRuleId, reason: string): string {
  const text = `${rule}: ${reason}`;
  return Buffer.byteLength(text) <= 123 ? text : Buffer.from(text).subarray(0, 120).toString().replace(/\uFFFD+$/, '') + '...';
}

export class RelayConnection {
  readonly id: number;
  readonly device: string | undefined;
  readonly #socket: RelaySocket;
  readonly #options: ConnectionOptions;
  readonly #bucket: TokenBucket;
  readonly #maxMessageBytes: number;
  #room: RelayRoom | undefined;
  #pending: Uint8Array[] = [];
  #isClosed = false;
  /** When the relay last sent this peer anything (keep-alive). */
  lastSentAtMs: number;
  bytesSent = 0;

  constructor(options: ConnectionOptions) {
    this.id = options.id;
    this.device = options.device;
    this.#socket = options.socket;
    this.#options = options;
    const { limits } = options;
    const isDevice = options.device !== undefined;
    this.#bucket = isDevice
      ? new TokenBucket(limits.deviceMessagesPerSecond, limits.deviceBurst, options.now)
      : new TokenBucket(limits.fullMessagesPerSecond, limits.fullBurst, options.now);
    this.#maxMessageBytes = isDevice ? limits.deviceMessageBytes : limits.fullMessageBytes;
    this.lastSentAtMs = options.now();
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** The room is loaded: greet with its sync step 1, then handle what arrived meanwhile. */
  attach(room: RelayRoom): void {
    if (this.#isClosed) return;
    this.#room = room;
    this.send(room.syncStep1For(this));
    const pending = this.#pending;
    this.#pending = [];
    try {
      for (const message of pending) {
        if (this.#isClosed) break;
        this.#handle(message);
      }
    } catch (error) {
      this.#options.onError(this, error);
      this.close(1011, 'internal error');
    }
  }

  /** A WebSocket message arrived. Never throws. */
  receive(message: Uint8Array): void {
    if (this.#isClosed) return;
    try {
      if (message.length > this.#maxMessageBytes) {
        this.refuse(refuse('R3', `a message of ${message.length} bytes is over the ${this.#maxMessageBytes}-byte limit`, CloseCode.TooLarge));
        return;
      }
      if (!this.#bucket.take()) {
        this.refuse(refuse('R3', 'too many messages: slow down', CloseCode.RateLimited));
        return;
      }
      if (this.#room) this.#handle(message);
      else this.#pending.push(message);
    } catch (error) {
      // A bug, not the peer's fault: still never let it reach ws's callback (it would end the process).
      this.#options.onError(this, error);
      this.close(1011, 'internal error');
    }
  }

  #handle(data: Uint8Array): void {
    const room = this.#room!;
    const message = decodeMessage(data);
    if (!message) {
      this.refuse(refuse('R2', 'not a y-websocket message (garbage or truncated)'));
      return;
    }
    switch (message.type) {
      case 'sync-step1': {
        const reply = room.syncStep2For(this, message.stateVector);
        if (reply.ok) this.send(reply.message);
        else this.refuse(reply);
        return;
      }
      case 'sync-step2':
      case 'sync-update': {
        const result = room.admit(message.update, this);
        if (!result.ok) this.refuse(result);
        return;
      }
      case 'awareness':
        // Echoed to the sender only: it keeps the peer's 30 s timeout alive without telling the
        // whole class about every phone (awareness is not used by Rollcall).
        this.send(encodeAwareness(message.body));
        return;
      case 'query-awareness':
        this.send(EMPTY_AWARENESS);
        return;
      case 'auth':
        return;
    }
  }

  send(message: Uint8Array): void {
    if (this.#isClosed) return;
    this.lastSentAtMs = this.#options.now();
    this.bytesSent += message.length;
    try {
      this.#socket.send(message);
    } catch {
      this.close(1011, 'send failed');
    }
  }

  /** R6: permission denied with the reason, then a close with the rule's code. */
  refuse(refusal: Refusal): void {
    if (this.#isClosed) return;
    this.send(encodePermissionDenied(`${refusal.rule}: ${refusal.reason}`));
    this.#options.onRefused(this, refusal);
    this.close(refusal.closeCode, closeReason(refusal.rule, refusal.reason));
  }

  close(code = 1000, reason = ''): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#pending = [];
    try {
      this.#socket.close(code, reason);
    } catch {
      // Already closing: nothing to do.
    }
    this.#room?.leave(this);
  }

  /** The socket went away (closed by the peer or by us). */
  closed(): void {
    this.#isClosed = true;
    this.#pending = [];
    this.#room?.leave(this);
  }
}
