/**
 * The dashboard's end of `GET /events` (docs/http-api.md "Live changes"). Read with fetch()
 * streaming, not EventSource: EventSource cannot send the pasted admin token, which must travel
 * as a header (never in a URL); fetch() sends the header, the login cookie and nothing else,
 * so one code path serves all three ways in. Reconnects with a growing pause; a stream silent
 * past LIVE_SILENCE_LIMIT_MS (heartbeats every 15 s) is taken for dead (a laptop that slept).
 */
import { LIVE_EVENT, LIVE_SILENCE_LIMIT_MS, RelayStatusSchema, StoreChangeSchema, type RelayStatus, type StoreChange } from '../../protocol/events.ts';
import { SseParser, type SseEvent } from '../../protocol/SseParser.ts';
import { failureOf, headers, type ApiResult } from './api.ts';

export interface EventFeedHandlers {
  /** (Re)connected: re-read the screen (what happened while disconnected is not replayed). */
  onConnected(): void;
  onChange(change: StoreChange): void;
  onRelay(relay: RelayStatus): void;
  /** The validator refused the stream; the feed stops when `shouldStop` says so (e.g. log in first). */
  onRefused(failure: Extract<ApiResult<never>, { ok: false }>): boolean;
  /** The stream was lost; the feed tries again by itself. */
  onLost(): void;
}

export interface EventFeedOptions {
  /** Where the stream is (default `/events`, the page's own origin). */
  url?: string;
  /** A stream silent this long is taken for dead (default LIVE_SILENCE_LIMIT_MS). */
  silenceLimitMs?: number;
  /** The first pause before reconnecting; it doubles up to `maxRetryMs`. */
  firstRetryMs?: number;
  maxRetryMs?: number;
}

export class EventFeed {
  readonly #handlers: EventFeedHandlers;
  readonly #options: Required<EventFeedOptions>;
  #controller: AbortController | undefined;
  #isRunning = false;
  /** Which start() the running loop belongs to: a loop of an earlier start ends by itself. */
  #generation = 0;
  #wake: (() => void) | undefined;

  constructor(handlers: EventFeedHandlers, options: EventFeedOptions = {}) {
    this.#handlers = handlers;
    this.#options = { url: '/events', silenceLimitMs: LIVE_SILENCE_LIMIT_MS, firstRetryMs: 1000, maxRetryMs: 10_000, ...options };
  }

  /** Whether the feed is connected or trying to be (false after stop() or a refusal that stops it). */
  get isRunning(): boolean {
    return this.#isRunning;
  }

  /** Connects (if not connected yet) and keeps reconnecting until {@link stop}. */
  start(): void {
    if (this.#isRunning) return;
    this.#isRunning = true;
    void this.#run(++this.#generation);
  }

  stop(): void {
    this.#isRunning = false;
    this.#controller?.abort();
    this.#wake?.();
  }

  async #run(generation: number): Promise<void> {
    const isCurrent = () => this.#isRunning && this.#generation === generation;
    const { url, silenceLimitMs, firstRetryMs, maxRetryMs } = this.#options;
    let retryMs = firstRetryMs;
    while (isCurrent()) {
      const controller = new AbortController();
      this.#controller = controller;
      let watchdog: ReturnType<typeof setTimeout> | undefined;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => controller.abort(), silenceLimitMs);
      };
      try {
        arm();
        const response = await fetch(url, { headers: headers({ Accept: 'text/event-stream' }), cache: 'no-store', credentials: 'same-origin', signal: controller.signal });
        if (!response.ok || !response.body) {
          clearTimeout(watchdog);
          const failure = await failureOf(response);
          if (!isCurrent()) return;
          if (this.#handlers.onRefused(failure)) {
            this.#isRunning = false;
            return;
          }
        } else {
          const parser = new SseParser((event) => this.#dispatch(event));
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done || !isCurrent()) break;
            arm();
            retryMs = firstRetryMs;
            parser.push(value);
          }
        }
      } catch {
        // aborted (stop, or silence) or the network failed: try again below
      }
      clearTimeout(watchdog);
      if (!isCurrent()) return;
      this.#handlers.onLost();
      await new Promise<void>((resume) => {
        this.#wake = resume;
        setTimeout(resume, retryMs);
      });
      retryMs = Math.min(retryMs * 2, maxRetryMs);
    }
  }

  #dispatch(event: SseEvent): void {
    let body: unknown;
    try {
      body = JSON.parse(event.data);
    } catch {
      return; // not ours: ignore rather than break the feed
    }
    if (event.event === LIVE_EVENT.hello) return this.#handlers.onConnected();
    if (event.event === LIVE_EVENT.change) {
      const change = StoreChangeSchema.safeParse(body);
      if (change.success) this.#handlers.onChange(change.data);
      else this.#handlers.onConnected(); // a change we cannot read: re-read everything
      return;
    }
    if (event.event === LIVE_EVENT.relay) {
      const relay = RelayStatusSchema.safeParse(body);
      if (relay.success) this.#handlers.onRelay(relay.data);
    }
  }
}
