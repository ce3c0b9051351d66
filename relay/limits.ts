/**
 * The relay's size and rate limits (R3). Every number here is a trade-off written down in
 * docs/relay.md: large enough that no honest phone or validator ever meets it, small enough
 * that one hostile connection cannot exhaust a room or the process.
 */
import { MAX_ITEM_BYTES } from '../protocol/index.ts';

/** Limits the relay enforces. `device` limits apply to `?device=` connections (phones), `full` to the rest. */
export interface RelayLimits {
  /** Largest incoming WebSocket message from a phone: its re-sync of its own few entries is ~1 KB. */
  deviceMessageBytes: number;
  /** Largest incoming message from an unfiltered connection: a validator's batch of receipts, or a full re-sync after relay data loss. */
  fullMessageBytes: number;
  /** Largest entry or receipt, as JSON text (DESIGN.md: 2 KiB). */
  itemBytes: number;
  /** Most items (entries + receipts) one room may hold: 10× the 1,000-student hall. */
  roomItems: number;
  /** Most bytes of admitted updates one room may hold. */
  roomBytes: number;
  /** Token bucket per phone connection: sustained messages per second and burst. */
  deviceMessagesPerSecond: number;
  deviceBurst: number;
  /** Token bucket per unfiltered connection (the validator batches receipts, so it sends few, large messages). */
  fullMessagesPerSecond: number;
  fullBurst: number;
  /** Stored rows of a room past which they are merged into one (R5 compaction). */
  compactAfterRows: number;
  /** A room with no connection for this long is dropped from memory (R5 unload). */
  idleUnloadMs: number;
  /** Interval of ws pings (dead-peer detection) and keep-alive messages to quiet connections. */
  keepAliveMs: number;
}

export const DEFAULT_RELAY_LIMITS: Readonly<RelayLimits> = {
  deviceMessageBytes: 64 * 1024,
  fullMessageBytes: 4 * 1024 * 1024,
  itemBytes: MAX_ITEM_BYTES,
  roomItems: 20_000,
  roomBytes: 16 * 1024 * 1024,
  deviceMessagesPerSecond: 20,
  deviceBurst: 60,
  fullMessagesPerSecond: 200,
  fullBurst: 1000,
  compactAfterRows: 500,
  idleUnloadMs: 60_000,
  keepAliveMs: 15_000,
};

export function relayLimits(overrides: Partial<RelayLimits> = {}): RelayLimits {
  return { ...DEFAULT_RELAY_LIMITS, ...overrides };
}
