/**
 * A token bucket: `ratePerSecond` sustained, `burst` at once, on a clock passed in. The relay
 * limits each connection with one (R3); the validator limits each client address on the direct
 * HTTP path with one (docs/http-api.md). Pure arithmetic, no timers.
 */
export class TokenBucket {
  #tokens: number;
  #refilledAtMs: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.#tokens = burst;
    this.#refilledAtMs = now();
  }

  /** Takes one token; false when the bucket is empty (the caller is over its rate). */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** How long until `take()` can succeed again (0 when it can now): a `Retry-After` to give. */
  msUntilToken(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil(((1 - this.#tokens) * 1000) / this.ratePerSecond);
  }

  /** Full again: nothing would be lost by forgetting this bucket and making a fresh one later. */
  isFull(): boolean {
    this.#refill();
    return this.#tokens >= this.burst;
  }

  #refill(): void {
    const nowMs = this.now();
    const elapsedMs = Math.max(0, nowMs - this.#refilledAtMs);
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsedMs * this.ratePerSecond) / 1000);
    this.#refilledAtMs = nowMs;
  }
}
