/**
 * The system the browser tests drive: `rollcall start` on one loopback port (validator API +
 * dashboard at /professor/, relay at /sync/<id> and /time, student app at /). The page and the
 * QR links share one origin (http://127.0.0.1:<port>), so IndexedDB and the service worker are
 * the ones a phone would use.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { qrUrl } from '../../protocol/index.ts';
import type { BrowserContext } from 'playwright-core';
import { launchChromium, type LaunchOptions } from '../helpers/browser.ts';
import { afterAll, beforeAll } from 'vitest';
import { PORT, REPO_ROOT, removeTempDirs, startRollcall, startTsEntry, tempDir, type StartedProcess } from '../helpers/processes.ts';

/** Why the system cannot run yet, or undefined when it can. */
export function systemRequirement(): string | undefined {
  if (process.env.ROLLCALL_BROWSER_SERVER) return undefined;
  if (!existsSync(join(REPO_ROOT, 'relay', 'index.ts'))) {
    return 'the relay (relay/index.ts) is not in the repo yet, so `rollcall start` cannot serve the student app or sync';
  }
  return undefined;
}

/**
 * Starts the system, with `extraArgs` for `rollcall start` (e.g. `--trust-proxy`);
 * ROLLCALL_BROWSER_SERVER=<file.ts> swaps in another server taking its port as argv[2].
 */
export function startSystem(extraArgs: readonly string[] = []): Promise<StartedProcess> {
  const alternative = process.env.ROLLCALL_BROWSER_SERVER;
  if (alternative) return startTsEntry(alternative, [PORT], { readyPath: '/time' });
  return startRollcall(['start', '--data', tempDir('rollcall-browser-data-'), '--public-url', `http://127.0.0.1:${PORT}`, ...extraArgs]);
}

export { createSession, type CreatedSession } from '../helpers/api.ts';
import type { CreatedSession } from '../helpers/api.ts';

/** The QR link as a phone's camera app would open it, on the test server's origin. */
export function qrLink(baseUrl: string, session: Pick<CreatedSession, 'payload_b64' | 'signature'>): string {
  return qrUrl(baseUrl, session);
}

/**
 * One running system per test file (`rollcall start` before its tests), and the browser context
 * a test opens with `open()`, closed after it even when the test fails.
 */
export interface BrowserRun {
  readonly system: StartedProcess;
  /** Launches Chromium with a fresh profile; the run closes it at the end if the test does not. */
  open(options?: LaunchOptions): Promise<BrowserContext>;
  /** Closes the context `open()` made. */
  closeContext(): Promise<void>;
}

export function useBrowserRun({ startArgs = [] }: { startArgs?: readonly string[] } = {}): BrowserRun {
  let system: StartedProcess | undefined;
  let context: BrowserContext | undefined;
  beforeAll(async () => {
    system = await startSystem(startArgs);
  });
  afterAll(async () => {
    await context?.close();
    await system?.stop();
    removeTempDirs();
  });
  return {
    get system() {
      if (!system) throw new Error('the system is not started yet (use it inside a test)');
      return system;
    },
    open: async (options) => (context = await launchChromium(options)),
    closeContext: async () => {
      await context?.close();
      context = undefined;
    },
  };
}
