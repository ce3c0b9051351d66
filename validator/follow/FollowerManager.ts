/**
 * Keeps one RoomFollower per session that can still receive entries: live, or ended less than
 * `late_sync_minutes` ago (plus a grace). Sessions are re-listed every few hundred
 * milliseconds, and a new or ended session can be nudged at once with `refresh()`; a session
 * whose end moved gets a newer room grant.
 */
import { RoomFollower, type EntryJudge } from './RoomFollower.ts';

export interface FollowedSession {
  id: string;
  /** Until when phones may write (end + late_sync_minutes): what the room's grant says. */
  writesUntilMs: number;
}

export interface FollowerManagerOptions {
  relayUrl: string;
  /** Certificates (PEM) a wss:// relay's certificate may chain to, in place of Node's list (`--relay-ca`). */
  relayCa?: string[];
  judge: EntryJudge;
  /** The validator's Ed25519 secret key (proves the followers are this validator). */
  signingSecretKey: Uint8Array;
  /** Sessions to follow at `nowMs`. */
  followable: (nowMs: number) => FollowedSession[];
  log?: (line: string) => void;
  now?: () => number;
  /** How often the list of sessions is re-read. */
  refreshMs?: number;
}

export class FollowerManager {
  readonly #options: FollowerManagerOptions;
  readonly #followers = new Map<string, { follower: RoomFollower; writesUntilMs: number }>();
  readonly #timer: NodeJS.Timeout;
  #isClosed = false;

  constructor(options: FollowerManagerOptions) {
    this.#options = options;
    this.refresh();
    this.#timer = setInterval(() => this.refresh(), options.refreshMs ?? 5000);
    this.#timer.unref();
  }

  /** Starts followers for new followable sessions, stops those no longer followable, re-grants moved ones. */
  refresh(): void {
    if (this.#isClosed) return;
    const now = (this.#options.now ?? Date.now)();
    const wanted = new Map(this.#options.followable(now).map((session) => [session.id, session]));
    for (const [sessionId, session] of wanted) {
      const followed = this.#followers.get(sessionId);
      if (followed) {
        if (followed.writesUntilMs !== session.writesUntilMs) {
          followed.writesUntilMs = session.writesUntilMs;
          followed.follower.grantChanged();
        }
        continue;
      }
      const follower = new RoomFollower({
        sessionId,
        relayUrl: this.#options.relayUrl,
        ...(this.#options.relayCa ? { relayCa: this.#options.relayCa } : {}),
        judge: this.#options.judge,
        signingSecretKey: this.#options.signingSecretKey,
        ...(this.#options.log ? { log: this.#options.log } : {}),
        ...(this.#options.now ? { now: this.#options.now } : {}),
      });
      this.#followers.set(sessionId, { follower, writesUntilMs: session.writesUntilMs });
    }
    for (const [sessionId, { follower }] of this.#followers) {
      if (wanted.has(sessionId)) continue;
      this.#followers.delete(sessionId);
      void follower.close();
    }
  }

  follower(sessionId: string): RoomFollower | undefined {
    return this.#followers.get(sessionId)?.follower;
  }

  /** Rooms followed, rooms connected, entries waiting for the judge (GET /healthz `relay`). */
  status(): { rooms: number; connected: number; waiting: number } {
    let connected = 0;
    let waiting = 0;
    for (const { follower } of this.#followers.values()) {
      if (follower.isConnected) connected++;
      waiting += follower.waitingEntries;
    }
    return { rooms: this.#followers.size, connected, waiting };
  }

  get followedSessionIds(): string[] {
    return [...this.#followers.keys()];
  }

  async close(): Promise<void> {
    this.#isClosed = true;
    clearInterval(this.#timer);
    await Promise.all([...this.#followers.values()].map(({ follower }) => follower.close()));
    this.#followers.clear();
  }
}
