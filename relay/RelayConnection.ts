/**
 * One y-websocket peer of a room. Checks size and rate (R3) before decoding anything, holds an
 * unfiltered peer to proving it is the room's validator before it hears anything of the room
 * (R10), buffers messages until the room is loaded (R5), routes sync and awareness, and on a
 * refusal tells the peer why and closes (R6). Nothing here throws into the socket's callbacks.
 */
import { CloseCode, TokenBucket, type RelayRuleId, type ValidatorMessage } from '../protocol/index.ts';
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
  /** Unfiltered connections: the random bytes this peer must sign to prove it is the room's validator (R10). */
  challenge?: Uint8Array;
  /** The client's address as R11 counts it (quotas, logs): the socket's, or the one a trusted proxy names (R11a). */
  address?: string;
  limits: RelayLimits;
  now: () => number;
  onRefused(connection: RelayConnection, refusal: Refusal): void;
  /** An unfiltered peer's proof (hello) or a welcomed validator's newer grant (R9, R10). */
  onValidatorMessage(connection: RelayConnection, message: ValidatorMessage): void;
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
  readonly challenge: Uint8Array | undefined;
  readonly address: string;
  readonly #socket: RelaySocket;
  readonly #options: ConnectionOptions;
  readonly #bucket: TokenBucket;
  readonly #maxMessageBytes: number;
  #room: RelayRoom | undefined;
  #pending: Uint8Array[] = [];
  #isClosed = false;
  /** The Ed25519 key this unfiltered peer proved it holds (R10); undefined until then. */
  #validatorKey: string | undefined;
  #hasSentHello = false;
  /** When the relay last sent this peer anything (keep-alive). */
  lastSentAtMs: number;
  bytesSent = 0;

  constructor(options: ConnectionOptions) {
    this.id = options.id;
    this.device = options.device;
    this.challenge = options.challenge;
    this.address = options.address ?? 'unknown';
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

  /** The validator this connection proved to be (unfiltered peers only, after the challenge). */
  get validatorKey(): string | undefined {
    return this.#validatorKey;
  }

  /** The relay accepted this peer's proof: from now on it is the room's validator. */
  proven(validatorKey: string): void {
    this.#validatorKey = validatorKey;
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
      if (this.device === undefined && this.#validatorKey === undefined) this.#handleUnproven(message);
      else if (this.#room) this.#handle(message);
      else this.#pending.push(message);
    } catch (error) {
      // A bug, not the peer's fault: still never let it reach ws's callback (it would end the process).
      this.#options.onError(this, error);
      this.close(1011, 'internal error');
    }
  }

  /** R10: an unfiltered peer may send one thing before it is proven: its answer to the challenge. */
  #handleUnproven(data: Uint8Array): void {
    const message = decodeMessage(data);
    if (message?.type === 'validator' && message.message.kind === 'hello' && !this.#hasSentHello) {
      this.#hasSentHello = true;
      this.#options.onValidatorMessage(this, message.message);
      return;
    }
    if (this.#hasSentHello) {
      // Sent right behind the hello, before the relay answered it: keep it for after the welcome.
      this.#pending.push(data);
      return;
    }
    this.refuse(refuse('R10', 'a connection without ?device= must first prove it is the room’s validator', CloseCode.Unauthorized));
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
        const maxBytes = this.device === undefined ? this.#options.limits.fullStateVectorBytes : this.#options.limits.deviceStateVectorBytes;
        if (message.stateVector.length > maxBytes) {
          this.refuse(refuse('R3', `a state vector of ${message.stateVector.length} bytes is over the ${maxBytes}-byte limit`, CloseCode.TooLarge));
          return;
        }
        room.answerSyncStep1(message.stateVector, this);
        return;
      }
      case 'sync-step2':
      case 'sync-update': {
        // Judged in the room's turn: refused, the peer is told why and closed (R6).
        room.admit(message.update, this);
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
      case 'validator':
        if (this.#validatorKey !== undefined && message.message.kind === 'grant') this.#options.onValidatorMessage(this, message.message);
        else this.refuse(refuse('R10', 'only the room’s validator sends grants, and only after its proof'));
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
