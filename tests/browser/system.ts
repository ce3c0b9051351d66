/**
 * The system the browser tests drive: `rollcall start` on one loopback port (validator API +
 * dashboard at /professor/, relay at /sync/<id> and /time, student app at /). The page and the
 * QR links share one origin (http://127.0.0.1:<port>), so IndexedDB and the service worker are
 * the ones a phone would use.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { qrUrl } from '../../protocol/index.ts';
import { PORT, REPO_ROOT, startRollcall, startTsEntry, tempDir, type StartedProcess } from '../helpers/processes.ts';

/** Why the system cannot run yet, or undefined when it can. */
export function systemRequirement(): string | undefined {
  if (process.env.ROLLCALL_BROWSER_SERVER) return undefined;
  if (!existsSync(join(REPO_ROOT, 'relay', 'index.ts'))) {
    return 'the relay (relay/index.ts) is not in the repo yet, so `rollcall start` cannot serve the student app or sync';
  }
  return undefined;
}

/** Starts the system; ROLLCALL_BROWSER_SERVER=<file.ts> swaps in another server taking its port as argv[2]. */
export function startSystem(): Promise<StartedProcess> {
  const alternative = process.env.ROLLCALL_BROWSER_SERVER;
  if (alternative) return startTsEntry(alternative, [PORT], { readyPath: '/time' });
  return startRollcall(['start', '--data', tempDir('rollcall-browser-data-'), '--public-url', `http://127.0.0.1:${PORT}`]);
}

export interface CreatedSession {
  session_id: string;
  course: string;
  payload_b64: string;
  signature: string;
  qr_text: string;
}

export async function createSession(baseUrl: string, body: Record<string, unknown>): Promise<CreatedSession> {
  const response = await fetch(`${baseUrl}/create_session`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`create_session answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as CreatedSession;
}

/** The QR link as a phone's camera app would open it, on the test server's origin. */
export function qrLink(baseUrl: string, session: Pick<CreatedSession, 'payload_b64' | 'signature'>): string {
  return qrUrl(baseUrl, session);
}
