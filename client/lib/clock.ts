/**
 * Clock correction against the relay (docs/SPEC.md: `scanned_at` is the device clock corrected by
 * the last offset measured with GET /time). Phone clocks can be minutes off; the validator's
 * `stale_qr` rule compares `scanned_at` with the QR slot.
 */
const OFFSET_KEY = 'rollcall:clock-offset-ms';

/** The last measured offset (server − device, ms), or 0 if never measured. */
export function lastClockOffsetMs(storage: Storage = localStorage): number {
  const value = Number(storage.getItem(OFFSET_KEY));
  return Number.isFinite(value) ? value : 0;
}

/**
 * Offset from one round trip: the server read its clock about half-way through.
 * Pure, so it is testable: `offset = serverMs − (sentAtMs + receivedAtMs) / 2`.
 */
export function offsetFromRoundTrip(sentAtMs: number, receivedAtMs: number, serverMs: number): number {
  return Math.round(serverMs - (sentAtMs + receivedAtMs) / 2);
}

/** Measures the offset with GET /time on the relay and keeps it. `undefined` when offline. */
export async function measureClockOffset(relayOrigin: string, storage: Storage = localStorage): Promise<number | undefined> {
  try {
    const sentAtMs = Date.now();
    const response = await fetch(new URL('/time', relayOrigin), { cache: 'no-store', signal: AbortSignal.timeout(5000) });
    const receivedAtMs = Date.now();
    if (!response.ok) return undefined;
    const body = (await response.json()) as { now_ms?: unknown };
    if (typeof body.now_ms !== 'number' || !Number.isFinite(body.now_ms)) return undefined;
    const offset = offsetFromRoundTrip(sentAtMs, receivedAtMs, body.now_ms);
    storage.setItem(OFFSET_KEY, String(offset));
    return offset;
  } catch {
    return undefined; // offline or no relay: keep the last offset
  }
}

/** Now on the relay's clock, as best this device knows it. */
export function correctedNowMs(storage: Storage = localStorage): number {
  return Math.round(Date.now() + lastClockOffsetMs(storage));
}
