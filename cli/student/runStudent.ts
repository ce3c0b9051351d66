/**
 * `rollcall student`: the seed's terminal student client. Interactive menu on a terminal;
 * with `--qr` (repeatable) and `--wait` it runs unattended, which is how scripts and tests use it.
 */
import { createInterface } from 'node:readline/promises';
import { REASON_TEXT, escapeControlCharacters, type ReceiptPlaintext } from '../../protocol/index.ts';
import { StudentClient } from './StudentClient.ts';
import { StudentStore, type StudentSubmission } from './StudentStore.ts';

export interface StudentCommandOptions {
  studentId: string;
  server: string;
  network: 'online' | 'offline';
  data: string;
  qr: string[];
  /** Seconds to wait for pending receipts before exiting; undefined: interactive menu. */
  waitSeconds?: number;
}

export function describeDecision(submission: StudentSubmission, receipt: ReceiptPlaintext): string {
  const latencyS = ((submission.receiptAtMs ?? Date.now()) - submission.scannedAtMs) / 1000;
  const latency = `latency: ${latencyS.toFixed(2)} s`;
  if (receipt.status === 'accepted') {
    const flags = receipt.flags.length > 0 ? ` (flagged for review: ${receipt.flags.join(', ')})` : '';
    return `[+] Submission accepted${flags}. ${latency}`;
  }
  return `[-] Submission rejected: ${receipt.reason}. ${REASON_TEXT[receipt.reason]} ${latency}`;
}

function describeQueue(submissions: StudentSubmission[]): string {
  if (submissions.length === 0) return 'No submissions on this device yet.';
  return submissions
    .map((s) => {
      const when = new Date(s.scannedAtMs).toISOString();
      const outcome = s.state === 'saved' ? 'saved on this device, waiting for the network' : s.state === 'sent' ? 'sent, waiting for the receipt' : `${s.state}${s.reason && s.reason !== 'ok' ? ` (${s.reason})` : ''}`;
      return `  ${when}  ${escapeControlCharacters(s.course)}  ${s.studentId}  ${outcome}`;
    })
    .join('\n');
}

/** Runs the client; resolves to the process exit code. */
export async function runStudent(options: StudentCommandOptions): Promise<number> {
  const store = new StudentStore(options.data);
  const isOnline = options.network === 'online';
  const client = new StudentClient({
    store,
    serverUrl: options.server,
    isOnline,
    onDecision: (submission, receipt) => console.log(describeDecision(submission, receipt)),
    // Status lines quote the QR's course and the relay's close reasons: neither may drive the terminal.
    onStatus: (line) => console.log(`    ${escapeControlCharacters(line)}`),
  });
  try {
    if (isOnline) await client.measureClock();
    const resumed = client.resumePending();
    if (resumed > 0) console.log(`Resuming ${client.pending().length} pending submission(s)${isOnline ? '' : ' (offline: they stay saved here)'}.`);

    for (const text of options.qr) submitAndReport(client, text, options.studentId, isOnline);

    if (options.waitSeconds !== undefined) {
      if (!isOnline) {
        console.log(`Offline: ${client.pending().length} submission(s) saved on this device. Run again with --network online to sync them.`);
        return 0;
      }
      const left = await client.waitForReceipts(options.waitSeconds * 1000);
      if (left.length > 0) {
        console.log(`${left.length} submission(s) still wait for a receipt after ${options.waitSeconds} s; they stay saved and sync on the next run.`);
        return 1;
      }
      return 0;
    }
    await menu(client, options.studentId, isOnline);
    return 0;
  } finally {
    client.close();
    store.close();
  }
}

function submitAndReport(client: StudentClient, text: string, studentId: string, isOnline: boolean): void {
  const result = client.submit(text, studentId);
  if (!result.ok) {
    console.log(`[!] Not submitted: ${result.error}. Paste the QR JSON or the QR link exactly as shown.`);
    return;
  }
  console.log(`[*] Saved on this device: ${escapeControlCharacters(result.submission.course)}${isOnline ? ', syncing…' : ' (offline: it syncs when you run online)'}`);
}

async function menu(client: StudentClient, studentId: string, isOnline: boolean): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    for (;;) {
      console.log('\n1) Paste QR payload JSON (or the QR link)\n2) Show queue\n3) Sync now\n4) Quit');
      const choice = (await rl.question('> ')).trim();
      if (choice === '1') {
        const text = await rl.question('QR: ');
        submitAndReport(client, text, studentId, isOnline);
      } else if (choice === '2') {
        console.log(describeQueue(client.submissions()));
      } else if (choice === '3') {
        if (!isOnline) console.log('Offline mode: restart with --network online to sync.');
        else console.log(`${client.resumePending()} session(s) syncing; receipts print here as they arrive.`);
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
