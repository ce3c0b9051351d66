/**
 * Keeps one RoomFollower per session that can still receive entries: live, or ended less than
 * `late_sync_minutes` ago (DESIGN.md). Sessions are re-listed every few seconds, and a new or
 * ended session can be nudged at once with `refresh()`.
 */
import { RoomFollower, type EntryJudge } from './RoomFollower.ts';

export interface FollowerManagerOptions {
  relayUrl: string;
  judge: EntryJudge;
  /** Session ids to follow at `nowMs`. */
  followable: (nowMs: number) => string[];
  log?: (line: string) => void;
  now?: () => number;
  /** How often the list of sessions is re-read. */
  refreshMs?: number;
}

export class FollowerManager {
  readonly #options: FollowerManagerOptions;
  readonly #followers = new Map<string, RoomFollower>();
  readonly #timer: NodeJS.Timeout;
  #isClosed = false;

  constructor(options: FollowerManagerOptions) {
    this.#options = options;
    this.refresh();
    this.#timer = setInterval(() => this.refresh(), options.refreshMs ?? 5000);
    this.#timer.unref();
  }

  /** Starts followers for new followable sessions and stops those no longer followable. */
  refresh(): void {
    if (this.#isClosed) return;
    const now = (this.#options.now ?? Date.now)();
    const wanted = new Set(this.#options.followable(now));
    for (const sessionId of wanted) {
      if (this.#followers.has(sessionId)) continue;
      this.#followers.set(
        sessionId,
        new RoomFollower({ sessionId, relayUrl: this.#options.relayUrl, judge: this.#options.judge, log: this.#options.log, now: this.#options.now }),
      );
    }
    for (const [sessionId, follower] of this.#followers) {
      if (wanted.has(sessionId)) continue;
      this.#followers.delete(sessionId);
      void follower.close();
    }
  }

  follower(sessionId: string): RoomFollower | undefined {
    return this.#followers.get(sessionId);
  }

  get followedSessionIds(): string[] {
    return [...this.#followers.keys()];
  }

  async close(): Promise<void> {
    this.#isClosed = true;
    clearInterval(this.#timer);
    await Promise.all([...this.#followers.values()].map((f) => f.close()));
    this.#followers.clear();
  }
}
