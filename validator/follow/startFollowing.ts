/**
 * Starts the validator's Yjs side: one follower per session still open for entries (live, or
 * ended less than `late_sync_minutes` ago), each judging entries through the store.
 */
import type { ValidatorStore } from '../ValidatorStore.ts';
import { FollowerManager } from './FollowerManager.ts';
import { StoreJudge } from './StoreJudge.ts';

export interface FollowingOptions {
  store: ValidatorStore;
  /** The relay's base URL (http(s):// or ws(s)://). */
  relayUrl: string;
  log?: (line: string) => void;
  now?: () => number;
  /** How often the session list is re-read (new sessions are followed within this time; default 250 ms). */
  refreshMs?: number;
}

/**
 * How long past `late_sync_minutes` a session is still followed: entries that arrive then are
 * answered `sync_too_late` instead of never, so a phone that comes back online late learns
 * what happened rather than waiting forever.
 */
export const ANSWER_LATE_ENTRIES_MS = 60 * 60_000;


export function startFollowing(options: FollowingOptions): FollowerManager {
  const now = options.now ?? Date.now;
  return new FollowerManager({
    relayUrl: options.relayUrl,
    judge: new StoreJudge(options.store, now),
    followable: (nowMs) => options.store.sessionIdsOpenForEntries(nowMs, ANSWER_LATE_ENTRIES_MS),
    refreshMs: options.refreshMs ?? 250,
    now,
    ...(options.log ? { log: options.log } : {}),
  });
}

export { FollowerManager } from './FollowerManager.ts';
export { RoomFollower, type EntryJudge, type SeenEntry } from './RoomFollower.ts';
export { StoreJudge, receiptPlaintext } from './StoreJudge.ts';
