/**
 * How long the validator's link to a room waits before connecting again (RelayLink's
 * `reconnectDelayMs`): at once after a relay that served it for a while went away (the phones of
 * the room are waiting for their receipts, issue 10's failover), with growing backoff when
 * connecting keeps failing, and slowly after a refusal a person must act on.
 */
import { describe, expect, it } from 'vitest';
import { QUICK_RETRY_AFTER_UP_MS, QUICK_RETRY_MAX_MS, reconnectDelayMs } from '../../validator/follow/RelayLink.ts';

const bounds = { minMs: 250, maxMs: 5_000 };
const highest = () => 0.999_999;
const lowest = () => 0;

describe('the validator link’s reconnect delay', () => {
  it('retries within 100 ms when a link that was up a while drops (its relay died)', () => {
    const state = { failures: 1, isRefusal: false, upForMs: 60_000 };
    expect(reconnectDelayMs(state, bounds, highest)).toBeLessThan(QUICK_RETRY_MAX_MS);
    expect(reconnectDelayMs(state, bounds, lowest)).toBe(0);
    expect(reconnectDelayMs({ ...state, upForMs: QUICK_RETRY_AFTER_UP_MS }, bounds, highest)).toBeLessThan(QUICK_RETRY_MAX_MS);
  });

  it('backs off as before when the link was up only briefly (a relay that drops it at once must not be hammered)', () => {
    const state = { failures: 1, isRefusal: false, upForMs: QUICK_RETRY_AFTER_UP_MS - 1 };
    expect(reconnectDelayMs(state, bounds, lowest)).toBe(250);
    expect(reconnectDelayMs(state, bounds, highest)).toBeCloseTo(500, 0);
  });

  it('backs off when the quick retry failed too, doubling the ceiling per failure up to the maximum', () => {
    expect(reconnectDelayMs({ failures: 2, isRefusal: false, upForMs: undefined }, bounds, lowest)).toBe(250);
    expect(reconnectDelayMs({ failures: 2, isRefusal: false, upForMs: undefined }, bounds, highest)).toBeCloseTo(1_000, 0);
    expect(reconnectDelayMs({ failures: 3, isRefusal: false, upForMs: undefined }, bounds, highest)).toBeCloseTo(2_000, 0);
    expect(reconnectDelayMs({ failures: 40, isRefusal: false, upForMs: undefined }, bounds, highest)).toBeCloseTo(5_000, 0);
  });

  it('waits at least 2 s after a refusal, even from a link that was up (44xx: the grant or enrolment needs a person)', () => {
    expect(reconnectDelayMs({ failures: 1, isRefusal: true, upForMs: 60_000 }, bounds, lowest)).toBe(2_000);
    expect(reconnectDelayMs({ failures: 20, isRefusal: true, upForMs: undefined }, bounds, lowest)).toBe(30_000);
  });
});
