/**
 * `GET /events` (professor): the store's changes as server-sent events, so the dashboard
 * re-reads a screen when something on it changed instead of polling (docs/http-api.md "Live
 * changes"). Events say what changed, not the new state; nothing is replayed: every stream
 * starts with `hello`, on which a client re-reads its screen (that covers what it missed while
 * disconnected, with one request per screen).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LIVE_EVENT, LIVE_HEARTBEAT_MS, type RelayStatus, type StoreChange } from '../protocol/events.ts';

export interface LiveEventsOptions {
  /** Subscribes to the store's changes (ValidatorStore.onChange); returns the unsubscribe. */
  onChange: (listener: (change: StoreChange) => void) => () => void;
  /** The follower's view of the relay; its changes are pushed as `relay` events. */
  relayStatus: () => RelayStatus | undefined;
  clock: () => number;
  heartbeatMs?: number;
  /** How often the relay status is compared with what was last sent (an in-memory read). */
  relayCheckMs?: number;
  /**
   * Changes are gathered this long and sent once each: a hall scanning at once makes one event
   * per batch, not one per scan, and the send comes after the write's transaction committed.
   */
  coalesceMs?: number;
}

/** A stream whose client stopped reading is dropped past this many unsent bytes. */
const MAX_BUFFERED_BYTES = 256 * 1024;

export class LiveEvents {
  readonly #options: Required<LiveEventsOptions>;
  readonly #streams = new Set<ServerResponse>();
  readonly #pending = new Map<string, StoreChange>();
  readonly #unsubscribe: () => void;
  #nextId = 1;
  #lastRelayText = '';
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #relayTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: LiveEventsOptions) {
    this.#options = { heartbeatMs: LIVE_HEARTBEAT_MS, relayCheckMs: 1000, coalesceMs: 50, ...options };
    this.#unsubscribe = options.onChange((change) => this.#queue(change));
  }

  /** Streams currently open (for tests and diagnostics). */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Answers `GET /events` with a stream that stays open until the client or {@link close} ends it. */
  open(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // nginx would otherwise hold events back in its buffer
      'x-accel-buffering': 'no',
    });
    req.socket.setNoDelay(true);
    this.#streams.add(res);
    res.on('close', () => this.#drop(res));
    res.write(`retry: 2000\n\n`);
    this.#write(res, LIVE_EVENT.hello, { server_time_ms: this.#options.clock() });
    const relay = this.#options.relayStatus();
    if (relay) this.#write(res, LIVE_EVENT.relay, relay);
    this.#startTimers();
  }

  /** Ends every stream and stops the timers (the server is closing). */
  close(): void {
    this.#unsubscribe();
    for (const res of this.#streams) res.end();
    this.#streams.clear();
    this.#stopTimers();
    clearTimeout(this.#flushTimer);
  }

  #queue(change: StoreChange): void {
    if (this.#streams.size === 0) return;
    this.#pending.set(`${change.kind}|${change.session_id ?? ''}|${change.course ?? ''}`, change);
    this.#flushTimer ??= setTimeout(() => this.#flush(), this.#options.coalesceMs);
  }

  #flush(): void {
    this.#flushTimer = undefined;
    const changes = [...this.#pending.values()];
    this.#pending.clear();
    for (const change of changes) this.#broadcast(LIVE_EVENT.change, change);
  }

  #broadcast(event: string, body: unknown): void {
    for (const res of this.#streams) this.#write(res, event, body);
  }

  #write(res: ServerResponse, event: string, body: unknown): void {
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      res.destroy();
      return;
    }
    res.write(`id: ${this.#nextId++}\nevent: ${event}\ndata: ${JSON.stringify(body)}\n\n`);
  }

  #drop(res: ServerResponse): void {
    this.#streams.delete(res);
    if (this.#streams.size === 0) this.#stopTimers();
  }

  #startTimers(): void {
    this.#heartbeatTimer ??= setInterval(() => {
      for (const res of this.#streams) res.write(`: heartbeat\n\n`);
    }, this.#options.heartbeatMs).unref();
    this.#relayTimer ??= setInterval(() => this.#checkRelay(), this.#options.relayCheckMs).unref();
  }

  #stopTimers(): void {
    clearInterval(this.#heartbeatTimer);
    clearInterval(this.#relayTimer);
    this.#heartbeatTimer = undefined;
    this.#relayTimer = undefined;
  }

  #checkRelay(): void {
    const relay = this.#options.relayStatus();
    const text = relay ? JSON.stringify(relay) : '';
    if (text === this.#lastRelayText) return;
    this.#lastRelayText = text;
    if (relay) this.#broadcast(LIVE_EVENT.relay, relay);
  }
}
