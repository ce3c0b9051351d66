/**
 * Ctrl-C, SIGTERM or SIGHUP during `npm run bench` (and `-- --campus`): stop every process the
 * bench started (tests/helpers/runningProcesses.ts: relays, validators, workers, Redis, Caddy,
 * PostgreSQL), remove its temporary folders, say so in one line and exit as a shell reports a
 * signal (128 + its number: 130 for SIGINT, 143 for SIGTERM). Without this, an interrupted
 * campus run left PostgreSQL (detached by pg_ctl, so not even a terminal's Ctrl-C reaches it),
 * Redis, Caddy and the relays running, holding their ports and folders.
 */
import { stopAllRunning } from '../tests/helpers/runningProcesses.ts';

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
type HandledSignal = keyof typeof SIGNAL_NUMBERS;

let stopping: Promise<never> | undefined;

/**
 * From now on a handled signal stops everything; `removeFolders` deletes the temporary folders
 * and returns how many. A second signal while stopping changes nothing: each stop is bounded
 * (SIGKILL after a grace period), so the first one ends.
 */
export function stopEverythingOnSignal(removeFolders: () => number): void {
  for (const signal of Object.keys(SIGNAL_NUMBERS) as HandledSignal[]) {
    process.on(signal, () => {
      stopping ??= stopEverything(signal, removeFolders);
    });
  }
}

/**
 * Resolves at once unless the bench is being interrupted; then never (the interruption ends the
 * process). A bench step that failed because its servers were stopped under it waits here, so
 * its error is not reported as the bench's own, and the exit waits for the stops.
 */
export async function unlessInterrupted(): Promise<void> {
  if (stopping) await stopping;
}

async function stopEverything(signal: HandledSignal, removeFolders: () => number): Promise<never> {
  const { stopped, failed } = await stopAllRunning();
  let folders: number | string;
  try {
    folders = removeFolders();
  } catch (error) {
    folders = `not every one (${error instanceof Error ? error.message : String(error)}), some of the`;
  }
  console.error(
    `Interrupted by ${signal}: stopped ${stopped.length ? `${stopped.length} processes (${stopped.join(', ')})` : 'nothing (nothing was running)'}` +
      `${failed.length ? `; could NOT stop ${failed.join(', ')}: stop them by hand` : ''}; removed ${folders} temporary folders.`,
  );
  process.exit(128 + SIGNAL_NUMBERS[signal]);
}
