/**
 * What this Node process started and has not stopped yet (servers, PostgreSQL, Redis, Caddy,
 * worker processes), so that an interrupted benchmark (Ctrl-C, SIGTERM) can stop all of it at
 * once. Every helper that starts something long-lived tracks it here and untracks it once it is
 * stopped or gone.
 *
 * It is one list per process on purpose: a signal reaches the process, not the function that
 * started the PostgreSQL it must stop. PostgreSQL in particular outlives us: `pg_ctl` detaches
 * it into a session of its own, so neither a terminal's Ctrl-C nor our exit reaches it.
 */

/** A started thing: what to call it in a message, and how to stop it (idempotent). */
export interface Running {
  /** e.g. "PostgreSQL on port 5433", "redis-server on port 6380", "relay on port 41000" */
  name: string;
  stop(): Promise<unknown>;
}

const running = new Set<Running>();

/** Tracks `entry` until the returned function is called (when it stopped or exited by itself). */
export function trackRunning(entry: Running): () => void {
  running.add(entry);
  return () => void running.delete(entry);
}

/** What is running now, oldest first. */
export function runningNow(): string[] {
  return [...running].map((entry) => entry.name);
}

/**
 * Stops everything tracked, newest first (phones before relays, relays before their store), one
 * at a time, until nothing is left (something started meanwhile is stopped too). A stop that
 * fails is reported, not thrown: the others must still be stopped. Returns the names stopped and
 * the names whose stop failed.
 */
export async function stopAllRunning(): Promise<{ stopped: string[]; failed: string[] }> {
  const stopped: string[] = [];
  const failed: string[] = [];
  for (let newest = [...running].at(-1); newest !== undefined; newest = [...running].at(-1)) {
    running.delete(newest);
    try {
      await newest.stop();
      stopped.push(newest.name);
    } catch {
      failed.push(newest.name);
    }
  }
  return { stopped, failed };
}
