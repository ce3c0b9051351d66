/**
 * Decides many submissions of one session against the store and records them in one
 * transaction: the sync follower's hot path, and the direct path's one-at-a-time case.
 * Already-decided nonces are not decided again: their stored decision is returned as is.
 */
import { BatchKnownFacts, storeKnownFacts } from './knownFacts.ts';
import { decide, nodeRuleCrypto, type RuleCrypto, type RuleDecision, type SubmissionInput } from './rules.ts';
import type { ValidatorStore } from './ValidatorStore.ts';
import type { Decision, SessionRecord } from './types.ts';
import type { EntryVersion } from '../protocol/index.ts';

export interface BatchResult {
  /** The decision that stands for each input, in input order (stored or previously stored). */
  decision: Decision;
  /** False when the nonce had been decided before (a replay): `decision` is the old one. */
  isNew: boolean;
  /** Box key for sealing the receipt, when the entry opened and was decided now. */
  sharedKey?: Uint8Array;
  /** The entry's plaintext version, when it was decided now and its plaintext parsed (SPEC.md F2). */
  entryVersion?: EntryVersion;
}

export function decideAndRecord(
  store: ValidatorStore,
  session: SessionRecord,
  inputs: readonly SubmissionInput[],
  nowMs: number,
  crypto: RuleCrypto = nodeRuleCrypto,
): BatchResult[] {
  const known = new BatchKnownFacts(storeKnownFacts(store, session));
  const fresh: RuleDecision[] = [];
  const freshIndex = new Map<string, number>();
  const results: (BatchResult | number)[] = inputs.map((input) => {
    const nonce = input.kind === 'entry' ? input.key : input.nonce;
    const previous = store.getDecision(session.id, nonce);
    if (previous) return { decision: previous, isNew: false };
    const seen = freshIndex.get(nonce);
    if (seen !== undefined) return seen;
    const decision = decide(input, session, known, nowMs, crypto);
    known.add(decision);
    freshIndex.set(nonce, fresh.push(decision) - 1);
    return fresh.length - 1;
  });
  const stored = store.recordDecisions(fresh);
  return results.map((result) => {
    if (typeof result !== 'number') return result;
    const { sharedKey, entryVersion } = fresh[result]!;
    return { decision: stored[result]!, isNew: true, ...(sharedKey ? { sharedKey } : {}), ...(entryVersion ? { entryVersion } : {}) };
  });
}
