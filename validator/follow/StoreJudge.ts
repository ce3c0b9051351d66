/**
 * The follower's judge over the validator's store and rules. Batches from every room arriving
 * in the same turn of the event loop (or within `groupCommitMs`) are decided in one SQLite
 * transaction (one disk flush for all of them: with synchronous=FULL a flush per entry was the
 * largest cost when entries trickle in; the followers batch what trickles in), then
 * one receipt is sealed per entry the room has not answered. Receipts are sealed only after the
 * decisions are committed, so a receipt never announces a decision the validator could forget.
 * The store alone says what is decided; a receipt the room already holds is checked, not trusted.
 */
import { openEntry, toBase64Url, tryFromBase64Url, openJson, type SigningKeyPair } from '../../crypto/index.ts';
import { nativeSignDetached as signDetached } from '../../crypto/nativeEd25519.ts';
import {
  ACCEPTED_REASON,
  LATE_ANSWER_GRACE_MS,
  grantSigningBytes,
  isRejectionReason,
  parseEntry,
  parseReceipt,
  type DecisionReason,
  type EntryVersion,
  type Receipt,
  type ReceiptPlaintext,
  type RoomGrant,
  type ScanAttendance,
} from '../../protocol/index.ts';
import { sealReceipt } from '../../crypto/index.ts';
import { decideAndRecord, type BatchResult } from '../decideBatch.ts';
import { nativeSharedKey } from '../nativeSharedKey.ts';
import { provisionalUntilMs } from '../sessionTimes.ts';
import { scanStatus, statusSession } from '../studentStatus.ts';
import type { EntryInput } from '../rules.ts';
import type { Decision, SessionRecord } from '../types.ts';
import type { ValidatorStore } from '../ValidatorStore.ts';
import type { SignedGrant } from './RelayLink.ts';
import type { EntryJudge, SeenEntry } from './RoomFollower.ts';

export interface StoreJudgeOptions {
  now?: () => number;
  /** How long the first call waits for others to share its transaction (default 0: the same event-loop turn). */
  groupCommitMs?: number;
  log?: (line: string) => void;
}

interface PendingCall {
  sessionId: string;
  entries: SeenEntry[];
  resolve(receipts: Receipt[]): void;
  reject(error: unknown): void;
}

/** A group is flushed at once when it holds this many entries. */
const MAX_GROUP_ENTRIES = 2000;

/**
 * How long the first call of a group waits for others (ms). 0: the group is what arrives in the
 * same turn of the event loop. The followers already batch what trickles in (`lingerMs`), so a
 * fixed wait here would only add latency to every batch of a burst.
 */
export const DEFAULT_GROUP_COMMIT_MS = 0;

/** What a call's transaction decided: its session as read in that transaction, and the results. */
interface Decided {
  session: SessionRecord;
  results: BatchResult[];
}

export class StoreJudge implements EntryJudge {
  readonly #store: ValidatorStore;
  readonly #identity: SigningKeyPair;
  readonly #now: () => number;
  readonly #groupCommitMs: number;
  readonly #log: (line: string) => void;
  /** Open connection interval per session (id in the store's connection_intervals). */
  readonly #openIntervals = new Map<string, number>();
  #pending: PendingCall[] = [];
  #pendingEntries = 0;
  /** Cancels the scheduled flush of the pending group, if one is scheduled. */
  #cancelFlush: (() => void) | undefined;
  /** Receipts found in rooms that this validator did not make (R10 should make this 0). */
  foreignReceipts = 0;

  constructor(store: ValidatorStore, identity: SigningKeyPair, options: StoreJudgeOptions = {}) {
    this.#store = store;
    this.#identity = identity;
    this.#now = options.now ?? Date.now;
    this.#groupCommitMs = options.groupCommitMs ?? DEFAULT_GROUP_COMMIT_MS;
    this.#log = options.log ?? (() => {});
  }

  judge(sessionId: string, entries: SeenEntry[]): Promise<Receipt[]> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ sessionId, entries, resolve, reject });
      this.#pendingEntries += entries.length;
      if (this.#pendingEntries >= MAX_GROUP_ENTRIES) this.#flush();
      else this.#cancelFlush ??= this.#scheduleFlush();
    });
  }

  #scheduleFlush(): () => void {
    if (this.#groupCommitMs > 0) {
      const timer = setTimeout(() => this.#flush(), this.#groupCommitMs);
      return () => clearTimeout(timer);
    }
    const immediate = setImmediate(() => this.#flush());
    return () => clearImmediate(immediate);
  }

  #flush(): void {
    this.#cancelFlush?.();
    this.#cancelFlush = undefined;
    const calls = this.#pending;
    this.#pending = [];
    this.#pendingEntries = 0;
    if (calls.length === 0) return;
    let results: (Decided | undefined)[];
    try {
      results = this.#store.inTransaction(() => calls.map((call) => this.#decide(call)));
    } catch {
      // One call's entries made the group fail (a full disk, or a bug meeting hostile input):
      // each call alone, so the others are not held hostage by it.
      results = [];
      calls.forEach((call, index) => {
        try {
          results[index] = this.#store.inTransaction(() => this.#decide(call));
        } catch (error) {
          call.reject(error);
        }
      });
    }
    calls.forEach((call, index) => {
      if (!(index in results)) return; // rejected above
      const decided = results[index];
      try {
        call.resolve(this.#receipts(call, decided));
      } catch (error) {
        call.reject(error);
      }
    });
  }

  #decide(call: PendingCall): Decided | undefined {
    const session = this.#store.getSession(call.sessionId);
    if (!session) return undefined; // a room whose session this validator does not own: nothing to say
    const inputs: EntryInput[] = call.entries.map((seen) => ({ kind: 'entry', key: seen.nonce, entry: seen.raw, firstSeenMs: seen.firstSeenMs }));
    return { session, results: decideAndRecord(this.#store, session, inputs, this.#now()) };
  }

  /** One receipt per decided entry the room has not answered; room receipts of new decisions checked. */
  #receipts(call: PendingCall, decided: Decided | undefined): Receipt[] {
    if (!decided) return [];
    const { session, results } = decided;
    const receipts: Receipt[] = [];
    results.forEach((result, index) => {
      const seen = call.entries[index]!;
      // Decided before and answered in the room: nothing to do. Checked before the key is
      // re-derived (an X25519 agreement): a validator hears the whole room on every connection,
      // and when a relay dies it hears every room that relay held at once (docs/performance.md).
      if (!result.isNew && seen.roomReceipt !== undefined) return;
      // New: entries that opened carry their key. Decided before: re-derived from the stored
      // device key, except for entries that never opened (no key the device is known to hold).
      const key = result.isNew ? result.sharedKey : storedSharedKey(result.decision, session);
      if (!key) return;
      if (seen.roomReceipt !== undefined) {
        if (result.isNew && !opensWith(seen.roomReceipt, key)) {
          this.foreignReceipts++;
          this.#log(`the room holds a receipt for entry ${seen.nonce.slice(0, 8)} that this validator did not make; the phone cannot read its answer`);
        }
        return;
      }
      // Answered in kind (SPEC.md F2): a v1 entry gets a v1 receipt, which a device of the
      // previous release can read; a v2 entry gets a v2 receipt that says present or late.
      const version = result.isNew ? (result.entryVersion ?? 1) : sealedEntryVersion(seen.raw, key);
      const attendance = version >= 2 && result.decision.status === 'accepted' ? scanStatus(result.decision, statusSession(session)) : undefined;
      receipts.push(sealReceipt(receiptPlaintext(result.decision, version, attendance), result.decision.nonce, key));
    });
    return receipts;
  }

  grant(sessionId: string): SignedGrant | undefined {
    const session = this.#store.getSession(sessionId);
    if (!session) return undefined;
    return signGrant(session, this.#identity, this.#now());
  }

  connectionChanged(sessionId: string, isConnected: boolean, atMs: number): void {
    const open = this.#openIntervals.get(sessionId);
    if (isConnected && open === undefined) {
      this.#openIntervals.set(sessionId, this.#store.recordConnected(sessionId, atMs));
    } else if (!isConnected && open !== undefined) {
      this.#store.recordDisconnected(open, atMs);
      this.#openIntervals.delete(sessionId);
    }
  }
}

/**
 * Until when phones may write to the session's room: its end plus `late_sync_minutes`, plus an
 * hour in which a late scan is still taken, so that it is answered `sync_too_late` instead of
 * being refused by the relay with no answer (SPEC.md R9, `LATE_ANSWER_GRACE_MS`).
 */
export function writesUntilMs(session: Pick<SessionRecord, 'endsAtS' | 'lateSyncMinutes'>): number {
  return provisionalUntilMs(session) + LATE_ANSWER_GRACE_MS;
}

/** The session's room grant, signed now (SPEC.md "Room grants"). */
export function signGrant(session: Pick<SessionRecord, 'id' | 'endsAtS' | 'lateSyncMinutes'>, identity: SigningKeyPair, nowMs: number): SignedGrant {
  const grant: RoomGrant = {
    v: 1,
    room: session.id,
    validator: toBase64Url(identity.publicKey),
    writes_until_ms: writesUntilMs(session),
    issued_at_ms: nowMs,
  };
  const grantJson = JSON.stringify(grant);
  return { grantJson, signature: signDetached(grantSigningBytes(grantJson), identity.secretKey) };
}

function storedSharedKey(decision: Decision, session: SessionRecord): Uint8Array | undefined {
  if (decision.via !== 'sync' || !decision.deviceKey || decision.reason === 'undecryptable' || decision.reason === 'malformed') return undefined;
  const devicePublicKey = tryFromBase64Url(decision.deviceKey);
  if (!devicePublicKey || devicePublicKey.length !== 32) return undefined;
  return nativeSharedKey(devicePublicKey, session.boxSecretKey);
}

/** Whether a receipt found in the room opens with this entry's key (only the validator and the device hold it). */
function opensWith(roomReceipt: unknown, key: Uint8Array): boolean {
  const receipt = parseReceipt(roomReceipt);
  if (!receipt.ok) return false;
  const nonce = tryFromBase64Url(receipt.value.rn);
  return nonce !== undefined && openJson(receipt.value.c, nonce, key) !== undefined;
}

/**
 * The plaintext version of an entry decided before (its receipt is sealed again after the room
 * lost it): read from the entry itself, which the room keeps, so no version is stored with the
 * decision. 1 when it does not open or parse: every device reads v1.
 */
function sealedEntryVersion(rawEntry: unknown, key: Uint8Array): EntryVersion {
  const entry = parseEntry(rawEntry);
  if (!entry.ok) return 1;
  const opened = openEntry(entry.value, key);
  if (!opened.ok) return 1;
  const plaintext = opened.plaintext as { v?: unknown } | null;
  return typeof plaintext === 'object' && plaintext !== null && plaintext.v === 2 ? 2 : 1;
}

/**
 * The receipt's plaintext for a stored decision (SPEC.md "Receipt"), in `version`: v1, or v2 with
 * `attendance` (required when accepted, S2; left out when rejected).
 */
export function receiptPlaintext(decision: Decision, version: EntryVersion = 1, attendance: ScanAttendance = 'present'): ReceiptPlaintext {
  const reason: DecisionReason = decision.status === 'accepted' ? ACCEPTED_REASON : isRejectionReason(decision.reason) ? decision.reason : 'malformed';
  const v1 = {
    status: decision.status,
    reason,
    flags: decision.flags,
    student_id: decision.studentId ?? '',
    decided_at: decision.decidedAtMs,
  };
  if (version === 1) return { v: 1, ...v1 };
  return { v: 2, ...v1, ...(decision.status === 'accepted' ? { attendance } : {}) };
}
