/**
 * `rollcall student`: the terminal student client, a thin shell over the submission core
 * (client/core/) on SQLite. Interactive menu on a terminal; with `--qr` (repeatable) and
 * `--wait` it runs unattended, which is how scripts and tests use it.
 *
 * Exit codes (docs/apps.md): 0 every submission answered accepted (or, offline, saved);
 * 2 a submission was rejected or could not be submitted; 3 receipts still awaited when
 * `--wait` ran out (they stay saved); 1 the command itself failed.
 */
import { createInterface } from 'node:readline/promises';
import WebSocket from 'ws';
import { ACCEPTED_LATE_TEXT, REASON_TEXT, escapeControlCharacters } from '../../protocol/index.ts';
import {
  submissionTitle,
  SubmissionQueue,
  latencyMs,
  queueProblemText,
  submitProblemText,
  type Submission,
} from '../../client/core/index.ts';
import { SqliteSessionDocStore } from './SqliteSessionDocStore.ts';
import { SqliteSubmissionStore } from './SqliteSubmissionStore.ts';
import { StudentDatabase } from './StudentDatabase.ts';

export const EXIT_OK = 0;
export const EXIT_REJECTED = 2;
export const EXIT_STILL_WAITING = 3;

export interface StudentCommandOptions {
  studentId: string;
  server: string;
  network: 'online' | 'offline';
  data: string;
  qr: string[];
  /** Seconds to wait for pending receipts before exiting; undefined: interactive menu. */
  waitSeconds?: number;
}

/** One answer, as the terminal prints it: the decision, the reason and what to do, the latency. */
export function describeAnswer(submission: Submission): string {
  const latency = `latency: ${((latencyMs(submission) ?? 0) / 1000).toFixed(2)} s`;
  if (submission.state === 'accepted') {
    const flags = submission.flags && submission.flags.length > 0 ? ` (flagged for review: ${submission.flags.join(', ')})` : '';
    const late = submission.attendance === 'late' ? ` — late. ${ACCEPTED_LATE_TEXT}` : '.';
    return `[+] Submission accepted${flags}${late} ${latency}`;
  }
  const reason = submission.reason ?? 'malformed';
  return `[-] Submission rejected: ${reason}. ${REASON_TEXT[reason]} ${latency}`;
}

function describeQueue(submissions: Submission[]): string {
  if (submissions.length === 0) return 'No submissions on this device yet.';
  return submissions
    .map((s) => {
      const when = new Date(s.scannedAtMs).toISOString();
      const outcome = s.state === 'saved' ? 'saved on this device, waiting for the network' : s.state === 'sent' ? 'sent, waiting for the receipt' : `${s.state}${s.attendance === 'late' ? ' (late)' : ''}${s.reason && s.reason !== 'ok' ? ` (${s.reason})` : ''}`;
      return `  ${when}  ${escapeControlCharacters(s.course)}  ${s.studentId}  ${outcome}`;
    })
    .join('\n');
}

/** Resolves when nothing is pending, or after `timeoutMs` with what still is. */
function settled(queue: SubmissionQueue, timeoutMs: number): Promise<Submission[]> {
  return new Promise((resolve) => {
    if (queue.pending().length === 0) return resolve([]);
    const finish = () => {
      clearTimeout(timer);
      stop();
      resolve(queue.pending());
    };
    const timer = setTimeout(finish, timeoutMs);
    const stop = queue.on('changed', () => {
      if (queue.pending().length === 0) finish();
    });
  });
}

/** Runs the client; resolves to the process exit code. */
export async function runStudent(options: StudentCommandOptions): Promise<number> {
  const database = new StudentDatabase(options.data);
  const isOnline = options.network === 'online';
  const queue = new SubmissionQueue({
    device: database.deviceKeyPair(),
    submissions: new SqliteSubmissionStore(database),
    docs: new SqliteSessionDocStore(database),
    relayOrigin: isOnline ? options.server : undefined,
    webSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  let isAnyRefused = false;
  // Status lines quote the QR's course and the relay's close reasons: neither may drive the terminal.
  const status = (line: string) => console.log(`    ${escapeControlCharacters(line)}`);
  queue.on('answered', (submission) => {
    if (submission.state === 'rejected') isAnyRefused = true;
    console.log(describeAnswer(submission));
  });
  queue.on('sent', (submission) => status(`sent to the relay: ${submission.course} (${submission.studentId})`));
  queue.on('problem', (problem) => status(queueProblemText(problem)));
  queue.on('connection', (state) => {
    if (state === 'unreachable') status(`cannot reach the relay at ${options.server}; submissions stay saved here and are sent when it answers`);
  });
  try {
    await queue.start();
    if (isOnline) await queue.probe(); // the clock offset before anything is sealed
    const resumed = queue.pending().length;
    if (resumed > 0) console.log(`Resuming ${resumed} pending submission(s)${isOnline ? '' : ' (offline: they stay saved here)'}.`);

    for (const text of options.qr) {
      if (!(await submitAndReport(queue, text, options.studentId, isOnline))) isAnyRefused = true;
    }

    if (options.waitSeconds !== undefined) {
      if (!isOnline) {
        console.log(`Offline: ${queue.pending().length} submission(s) saved on this device. Run again with --network online to sync them.`);
        return isAnyRefused ? EXIT_REJECTED : EXIT_OK;
      }
      const left = await settled(queue, options.waitSeconds * 1000);
      if (isAnyRefused) return EXIT_REJECTED;
      if (left.length > 0) {
        console.log(`${left.length} submission(s) still wait for a receipt after ${options.waitSeconds} s; they stay saved and sync on the next run.`);
        return EXIT_STILL_WAITING;
      }
      return EXIT_OK;
    }
    await menu(queue, options.studentId, isOnline);
    return isAnyRefused ? EXIT_REJECTED : EXIT_OK;
  } finally {
    await queue.destroy();
    database.close();
  }
}

/** True when the scan is saved (new or a repeat). */
async function submitAndReport(queue: SubmissionQueue, text: string, studentId: string, isOnline: boolean): Promise<boolean> {
  const result = await queue.submit(text, studentId);
  if (!result.ok) {
    console.log(`[!] Not submitted: ${submitProblemText(result)}`);
    return false;
  }
  const course = escapeControlCharacters(result.submission.course);
  if (result.isRepeat) {
    console.log(`[=] Already submitted from this device: ${course} (${submissionTitle(result.submission).toLowerCase()}); not sent again.`);
    return true;
  }
  console.log(`[*] Saved on this device: ${course}${isOnline ? ', syncing…' : ' (offline: it syncs when you run online)'}`);
  return true;
}

async function menu(queue: SubmissionQueue, studentId: string, isOnline: boolean): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    for (;;) {
      console.log('\n1) Paste QR payload JSON (or the QR link)\n2) Show queue\n3) Check the relay\n4) Quit');
      const choice = (await rl.question('> ')).trim();
      if (choice === '1') {
        await submitAndReport(queue, await rl.question('QR: '), studentId, isOnline);
      } else if (choice === '2') {
        console.log(describeQueue(queue.list()));
      } else if (choice === '3') {
        if (!isOnline) console.log('Offline mode: restart with --network online to sync.');
        else {
          await queue.probe();
          console.log(queue.connection === 'connected' ? 'The relay answers; receipts print here as they arrive.' : `The relay does not answer (${queue.connection}); submissions stay saved here.`);
        }
      } else if (choice === '4' || choice === 'q') {
        return;
      } else {
        console.log('Choose 1, 2, 3 or 4.');
      }
    }
  } catch {
    // stdin closed (Ctrl-D): leave quietly; everything is already saved.
  } finally {
    rl.close();
  }
}
