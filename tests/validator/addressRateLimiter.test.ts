/** The direct path's per-address rate limit, on a clock the test moves. */
import { describe, expect, it } from 'vitest';
import { AddressRateLimiter } from '../../validator/AddressRateLimiter.ts';

describe('AddressRateLimiter', () => {
  it('gives each address its own burst, then refuses with the time until its next token', () => {
    let nowMs = 0;
    const limiter = new AddressRateLimiter(5, 3, () => nowMs);
    expect([1, 2, 3].map(() => limiter.take('10.0.0.5').isAllowed)).toEqual([true, true, true]);
    expect(limiter.take('10.0.0.5')).toEqual({ isAllowed: false, retryAfterMs: 200 });
    expect(limiter.take('10.0.0.6')).toEqual({ isAllowed: true });
    nowMs += 200;
    expect(limiter.take('10.0.0.5')).toEqual({ isAllowed: true });
  });

  it('forgets addresses whose bucket has refilled once it holds many, and keeps busy ones', () => {
    let nowMs = 0;
    const limiter = new AddressRateLimiter(5, 2, () => nowMs);
    limiter.take('busy');
    limiter.take('busy');
    for (let i = 0; i < 9_998; i++) limiter.take(`idle-${i}`);
    expect(limiter.size).toBe(9_999);
    nowMs += 1_000; // every idle bucket is full again; busy has 2 tokens again too
    limiter.take('busy');
    limiter.take('busy');
    limiter.take('trigger'); // the 10,000th address: sweeps
    expect(limiter.size).toBe(2);
    expect(limiter.take('busy').isAllowed).toBe(false); // its state survived the sweep
  });
});
