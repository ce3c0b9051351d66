/**
 * One token bucket per client address, for the public direct path. Buckets that have refilled
 * are forgotten (a fresh bucket is full too), so memory follows the addresses active in the last
 * few seconds, not every address ever seen.
 */
import { TokenBucket } from '../protocol/index.ts';

/** What `take` says: go ahead, or come back in `retryAfterMs`. */
export type RateDecision = { isAllowed: true } | { isAllowed: false; retryAfterMs: number };

/** Start sweeping full buckets once this many addresses are held. */
const SWEEP_ABOVE_ADDRESSES = 10_000;

export class AddressRateLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #ratePerSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  #sweepAt = SWEEP_ABOVE_ADDRESSES;

  constructor(ratePerSecond: number, burst: number, now: () => number) {
    this.#ratePerSecond = ratePerSecond;
    this.#burst = burst;
    this.#now = now;
  }

  /** Takes one token from `address`'s bucket. */
  take(address: string): RateDecision {
    let bucket = this.#buckets.get(address);
    if (!bucket) {
      // Before the new bucket goes in: a fresh bucket is full and would be swept at once.
      if (this.#buckets.size + 1 >= this.#sweepAt) this.#sweep();
      bucket = new TokenBucket(this.#ratePerSecond, this.#burst, this.#now);
      this.#buckets.set(address, bucket);
    }
    return bucket.take() ? { isAllowed: true } : { isAllowed: false, retryAfterMs: bucket.msUntilToken() };
  }

  /** How many addresses are held (for tests of the sweep). */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(): void {
    for (const [address, bucket] of this.#buckets) if (bucket.isFull()) this.#buckets.delete(address);
    // Many addresses busy at once (not full): sweep again only when the map has doubled, so a
    // flood from many addresses costs amortised O(1) per request, not a scan each time.
    this.#sweepAt = Math.max(SWEEP_ABOVE_ADDRESSES, this.#buckets.size * 2);
  }
}
