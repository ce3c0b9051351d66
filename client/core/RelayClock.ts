/**
 * The relay's clock as this device knows it (docs/SPEC.md: `scanned_at` is the device clock
 * corrected by the last offset measured with GET /time). Phone clocks can be minutes off; the
 * validator's `stale_qr` rule compares `scanned_at` with the QR slot. GET /time is also how a
 * client learns that the relay answers at all (ConnectionState).
 */
import type { SubmissionStore } from './SubmissionStore.ts';

/** How long one GET /time may take before the relay counts as unreachable. */
const MEASURE_TIMEOUT_MS = 5000;

/**
 * Offset from one round trip: the server read its clock about half-way through.
 * `offset = serverMs − (sentAtMs + receivedAtMs) / 2`.
 */
export function offsetFromRoundTrip(sentAtMs: number, receivedAtMs: number, serverMs: number): number {
  return Math.round(serverMs - (sentAtMs + receivedAtMs) / 2);
}

/** Where the offset is kept and where the relay's clock is read. */
export interface RelayClockOptions {
  /** Keeps the last offset across restarts. */
  store: SubmissionStore;
  /** The relay's HTTP origin; undefined: never measured (offline client). */
  relayOrigin?: string;
  /** The device clock (tests pass their own). */
  deviceNowMs?: () => number;
}

export class RelayClock {
  readonly #options: RelayClockOptions;
  readonly #deviceNowMs: () => number;
  #offsetMs = 0;

  constructor(options: RelayClockOptions) {
    this.#options = options;
    this.#deviceNowMs = options.deviceNowMs ?? Date.now;
  }

  /** Takes the last offset kept (0 if never measured). */
  async load(): Promise<void> {
    this.#offsetMs = (await this.#options.store.loadClockOffsetMs()) ?? 0;
  }

  get offsetMs(): number {
    return this.#offsetMs;
  }

  /** Now on the relay's clock, as best this device knows it. */
  nowMs(): number {
    return Math.round(this.#deviceNowMs() + this.#offsetMs);
  }

  /**
   * Measures the offset with GET /time and keeps it. True when the relay answered; false when it
   * could not be reached or answered nonsense (the last offset stays).
   */
  async measure(): Promise<boolean> {
    if (!this.#options.relayOrigin) return false;
    try {
      const sentAtMs = this.#deviceNowMs();
      const response = await fetch(new URL('/time', this.#options.relayOrigin), { cache: 'no-store', signal: AbortSignal.timeout(MEASURE_TIMEOUT_MS) });
      const receivedAtMs = this.#deviceNowMs();
      if (!response.ok) return false;
      const body = (await response.json()) as { now_ms?: unknown };
      if (typeof body.now_ms !== 'number' || !Number.isFinite(body.now_ms)) return false;
      this.#offsetMs = offsetFromRoundTrip(sentAtMs, receivedAtMs, body.now_ms);
      // Keeping it is a convenience for the next start: a failed write does not make the relay unreachable.
      await this.#options.store.saveClockOffsetMs(this.#offsetMs).catch(() => undefined);
      return true;
    } catch {
      return false;
    }
  }
}
