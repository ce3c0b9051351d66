/**
 * The follower's judge over the validator's store and rules: decides a batch of entries in one
 * SQLite transaction (`decideAndRecord`), then seals one receipt per decision with the box key
 * the rules already computed. Receipts are sealed only after the decisions are committed, so a
 * receipt never announces a decision the validator could forget.
 */
import { sealReceipt, tryFromBase64Url } from '../../crypto/index.ts';
import { ACCEPTED_REASON, isRejectionReason, type Receipt, type ReceiptPlaintext } from '../../protocol/index.ts';
import { decideAndRecord } from '../decideBatch.ts';
import { nativeSharedKey } from '../nativeSharedKey.ts';
import type { EntryInput } from '../rules.ts';
import type { Decision } from '../types.ts';
import type { ValidatorStore } from '../ValidatorStore.ts';
import type { EntryJudge, SeenEntry } from './RoomFollower.ts';

export class StoreJudge implements EntryJudge {
  readonly #store: ValidatorStore;
  readonly #now: () => number;
  /** Open connection interval per session (id in the store's connection_intervals). */
  readonly #openIntervals = new Map<string, number>();

  constructor(store: ValidatorStore, now: () => number = Date.now) {
    this.#store = store;
    this.#now = now;
  }

  isDecided(sessionId: string, nonce: string): boolean {
    return this.#store.getDecision(nonce) !== undefined;
  }

  async judge(sessionId: string, entries: SeenEntry[]): Promise<Receipt[]> {
    const session = this.#store.getSession(sessionId);
    if (!session) return []; // a room whose session this validator does not own: nothing to say
    const inputs: EntryInput[] = entries.map((seen) => ({ kind: 'entry', key: seen.nonce, entry: seen.raw, firstSeenMs: seen.firstSeenMs }));
    const results = decideAndRecord(this.#store, session, inputs, this.#now());
    const receipts: Receipt[] = [];
    for (const result of results) {
      if (!result.isNew || !result.sharedKey || result.decision.sessionId !== sessionId) continue;
      receipts.push(sealReceipt(receiptPlaintext(result.decision), result.decision.nonce, result.sharedKey));
    }
    return receipts;
  }

  reissueReceipt(sessionId: string, nonce: string): Receipt | undefined {
    const decision = this.#store.getDecision(nonce);
    if (!decision || decision.sessionId !== sessionId || decision.via !== 'sync' || !decision.deviceKey) return undefined;
    const session = this.#store.getSession(sessionId);
    const devicePublicKey = tryFromBase64Url(decision.deviceKey);
    if (!session || !devicePublicKey || devicePublicKey.length !== 32) return undefined;
    // Only entries that opened get receipts: an undecryptable or malformed entry's key is not
    // one we can answer meaningfully (the first decision sealed none either).
    if (decision.reason === 'undecryptable' || decision.reason === 'malformed') return undefined;
    return sealReceipt(receiptPlaintext(decision), nonce, nativeSharedKey(devicePublicKey, session.boxSecretKey));
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

/** The receipt's plaintext for a stored decision (DESIGN.md "Receipt"). */
export function receiptPlaintext(decision: Decision): ReceiptPlaintext {
  const reason = decision.status === 'accepted' ? ACCEPTED_REASON : isRejectionReason(decision.reason) ? decision.reason : 'malformed';
  return {
    v: 1,
    status: decision.status,
    reason,
    flags: decision.flags,
    student_id: decision.studentId ?? '',
    decided_at: decision.decidedAtMs,
  };
}
