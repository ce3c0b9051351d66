/** The token bucket shared by the relay (R3, per connection) and the validator's direct path (per address). */
import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../protocol/index.ts';

describe('TokenBucket', () => {
  it('allows the burst at once, then one token per 1/rate seconds', () => {
    let nowMs = 1_000;
    const bucket = new TokenBucket(5, 3, () => nowMs);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    nowMs += 199;
    expect(bucket.take()).toBe(false);
    nowMs += 1;
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
  });

  it('says how long until the next token, and 0 while one is there', () => {
    let nowMs = 0;
    const bucket = new TokenBucket(5, 2, () => nowMs);
    expect(bucket.msUntilToken()).toBe(0);
    bucket.take();
    bucket.take();
    expect(bucket.msUntilToken()).toBe(200);
    nowMs += 150;
    expect(bucket.msUntilToken()).toBe(50);
    nowMs += 50;
    expect(bucket.msUntilToken()).toBe(0);
  });

  it('is full again once it has refilled to its burst, and never holds more', () => {
    let nowMs = 0;
    const bucket = new TokenBucket(5, 2, () => nowMs);
    expect(bucket.isFull()).toBe(true);
    bucket.take();
    expect(bucket.isFull()).toBe(false);
    nowMs += 10_000;
    expect(bucket.isFull()).toBe(true);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false]);
  });
});
