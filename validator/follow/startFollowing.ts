/**
 * Starts the validator's Yjs side: one follower per session still open for entries (live, or
 * ended less than `late_sync_minutes` ago), each proving itself to the relay with the
 * validator's signing identity and judging entries through the store.
 */
import { newSigningKeyPair, type SigningKeyPair } from '../../crypto/index.ts';
import { LATE_ANSWER_GRACE_MS } from '../../protocol/index.ts';
import type { ValidatorStore } from '../ValidatorStore.ts';
import { FollowerManager } from './FollowerManager.ts';
import { StoreJudge } from './StoreJudge.ts';

export interface FollowingOptions {
  store: ValidatorStore;
  /** The relay's base URL (http(s):// or ws(s)://). */
  relayUrl: string;
  /** Certificates (PEM) a wss:// relay's certificate may chain to, in place of Node's list (`--relay-ca`). */
  relayCa?: string[];
  log?: (line: string) => void;
  now?: () => number;
  /** How often the session list is re-read (new sessions are followed within this time; default 250 ms). */
  refreshMs?: number;
  /** How long the first entry waits for others to share its transaction (default 0: the follower already lets a trickle gather for up to 50 ms). */
  groupCommitMs?: number;
}


/** The validator's Ed25519 identity, made on first use and kept in validator.db. */
export function validatorIdentity(store: ValidatorStore): SigningKeyPair {
  return store.signingIdentity(newSigningKeyPair);
}


export function startFollowing(options: FollowingOptions): FollowerManager {
  const now = options.now ?? Date.now;
  const identity = validatorIdentity(options.store);
  return new FollowerManager({
    relayUrl: options.relayUrl,
    ...(options.relayCa ? { relayCa: options.relayCa } : {}),
    judge: new StoreJudge(options.store, identity, {
      now,
      ...(options.groupCommitMs !== undefined ? { groupCommitMs: options.groupCommitMs } : {}),
      ...(options.log ? { log: options.log } : {}),
    }),
    signingSecretKey: identity.secretKey,
    followable: (nowMs) => options.store.sessionsOpenForEntries(nowMs, LATE_ANSWER_GRACE_MS),
    refreshMs: options.refreshMs ?? 250,
    now,
    ...(options.log ? { log: options.log } : {}),
  });
}

export { FollowerManager, type FollowedSession } from './FollowerManager.ts';
export { RoomFollower, type EntryJudge, type SeenEntry } from './RoomFollower.ts';
export { StoreJudge, receiptPlaintext, signGrant, writesUntilMs } from './StoreJudge.ts';
export { RelayLink, itemsOf, syncUrlOf, type SignedGrant, type RoomItem } from './RelayLink.ts';
