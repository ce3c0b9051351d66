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
  /** Largest entry or receipt, as JSON text (docs/SPEC.md: 2 KiB). */
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
  /** Largest sync step 1 state vector from a phone (R3): its own doc holds a few dozen clients. */
  deviceStateVectorBytes: number;
  /** Largest state vector from the validator (R3): one client per entry and receipt of a full room. */
  fullStateVectorBytes: number;
  /** Rooms one validator may hold open at once (R11): a whole department's timetable, not a spammer's. */
  maxOpenRoomsPerValidator: number;
  /** Bytes one validator's open rooms may reserve together (R11); each grant reserves its room cap. */
  maxReservedBytesPerValidator: number;
  /** Concurrent WebSocket connections from one address (R11). A lecture hall behind one NAT is one address: raise it there. */
  maxConnectionsPerAddress: number;
  /** An unfiltered connection that has not proved it is the room's validator by then is closed (R10). */
  validatorProofTimeoutMs: number;
  /** Enrolment attempts per address per minute (R11): codes have 100 bits, this only keeps the log quiet. */
  enrolmentsPerMinute: number;
  /** How often the relay looks for trust changes made by another process (`rollcall relay revoke`). */
  trustRefreshMs: number;
  /** On close (SIGTERM): how long peers have to answer the 1012 close before they are dropped. */
  shutdownGraceMs: number;
  /** With a bus (several relays, R12): how often each loaded room reads what other relays stored, in case the bus dropped it. */
  busCatchUpMs: number;
  /**
   * On a shared store (PostgreSQL, R13): updates of several rooms admitted within this many ms
   * are stored in one statement. 0: only those of one event-loop turn. Each update waits at most this long.
   */
  storeBatchMs: number;
  /**
   * On a shared store (PostgreSQL): connections the relay opens at start and keeps; more queries
   * at once wait for one (relay/PgDatabase.ts says why they are kept).
   */
  storePool: number;
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
  deviceStateVectorBytes: 4 * 1024,
  fullStateVectorBytes: 1024 * 1024,
  maxOpenRoomsPerValidator: 500,
  maxReservedBytesPerValidator: 8 * 1024 * 1024 * 1024,
  maxConnectionsPerAddress: 512,
  validatorProofTimeoutMs: 10_000,
  enrolmentsPerMinute: 10,
  trustRefreshMs: 1_000,
  shutdownGraceMs: 5_000,
  busCatchUpMs: 3_000,
  storeBatchMs: 25,
  storePool: 4,
};

export function relayLimits(overrides: Partial<RelayLimits> = {}): RelayLimits {
  return { ...DEFAULT_RELAY_LIMITS, ...overrides };
}
