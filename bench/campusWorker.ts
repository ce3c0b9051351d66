/**
 * A campus benchmark worker process: a share of the campus's phones (CampusPhone), each in one
 * of many sessions, connected through the load balancer. `burst`: every phone submits a
 * pre-sealed entry at a random moment within the spread and waits for its receipt, reconnecting
 * if its relay dies; receipts are opened after the clock stops. `idle`: phones connect, sync and
 * stay connected until told to stop (the relays' memory per idle phone).
 *
 * IPC: `listening`, then the task in; `ready` once every phone is connected, `progress` every
 * half second, `done`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as Y from 'yjs';
import { sealEntry, toBase64Url } from '../crypto/index.ts';
import { entriesMap } from '../protocol/index.ts';
import { nativeSharedKey } from '../validator/index.ts';
import { CampusPhone, monotonicMs } from './CampusPhone.ts';
import { deviceKeyPair, openedReceiptStatus } from './rawStudent.ts';

export interface CampusSession {
  sessionId: string;
  /** The QR the phones scan: current when their burst starts (a rotating QR expires, SPEC.md V3). */
  qr: { payload_b64: string; signature: string };
  validatorKey: string;
  /** The validator that holds the session (its GET /qr/<id> gives the current QR). */
  validatorUrl: string;
}

export interface CampusWorkerTask {
  mode: 'burst' | 'idle';
  /** ws://…/sync URLs; phone i connects to `syncUrls[i % length]` (one: the load balancer). */
  syncUrls: string[];
  /** Phone i is in `sessions[i % length]`. */
  sessions: CampusSession[];
  firstIndex: number;
  count: number;
  spreadMs: number;
  /** Student ids are `<prefix><index>` (a second burst uses another prefix). */
  idPrefix: string;
  /** Answered phones stay connected and reconnect (CampusPhoneOptions.staysOpen). */
  answeredStayOpen?: boolean;
}

export interface CampusPhoneResult {
  sessionId: string;
  latencyMs?: number;
  receiptAtMs?: number;
  status?: string;
  /** Sockets that closed under the phone before its receipt (its relay was killed). */
  reconnects: number;
  /** Failed-over phones: from the socket closing under it to the next one open (ms). */
  reopenMs?: number;
  /** Failed-over phones that had sent before that: from the new socket open to the receipt (ms). */
  afterReopenMs?: number;
  /** Sockets that closed under the phone after its receipt (with `answeredStayOpen`), and of those the ones it reopened. */
  closesAfterReceipt?: number;
  reconnectsAfterReceipt?: number;
  /** Of those: from the close to the next socket open (ms). */
  reopenAfterReceiptMs?: number;
  /** Failed attempts to open a socket, by reason (HTTP status, error code). */
  failures?: Record<string, number>;
  /** Failed-over phones: the failover's steps and the receipt, on the monotonic clock (CampusPhone.failover). */
  failover?: CampusPhone['failover'] & { receiptAt?: number };
}

export type CampusWorkerMessage =
  /** The worker listens for its task (a task sent earlier, while tsx still loads the module, would be lost). */
  | { type: 'listening' }
  /** The task arrived; the worker builds its phones' entries, then connects them. */
  | { type: 'task'; phones: number }
  /** While connecting, every second: phones open so far, and sockets opening or waiting to retry. */
  | { type: 'connecting'; open: number; pending: number }
  | { type: 'ready' }
  | { type: 'progress'; submitted: number; receipts: number }
  /** `stallMs`: the longest event-loop stall of the worker from "go" to the end (ms). */
  | { type: 'done'; results: CampusPhoneResult[]; stallMs?: number };

function send(message: CampusWorkerMessage): void {
  process.send?.(message);
}

/** Connects `count` phones, at most 50 handshakes at a time (the accept queues are finite). */
async function connectAll(phones: CampusPhone[]): Promise<void> {
  let open = 0;
  let pending = 0;
  const report = setInterval(() => send({ type: 'connecting', open, pending }), 1000);
  try {
    for (let i = 0; i < phones.length; i += 50) {
      const batch = phones.slice(i, i + 50);
      pending = batch.length;
      await Promise.all(batch.map((phone) => phone.connect().then(() => pending--)));
      open += batch.length;
    }
  } finally {
    clearInterval(report);
  }
}

async function runIdle(task: CampusWorkerTask): Promise<void> {
  const phones = Array.from({ length: task.count }, (_, i) => {
    const index = task.firstIndex + i;
    const session = task.sessions[index % task.sessions.length]!;
    const device = toBase64Url(deviceKeyPair().publicKey);
    return new CampusPhone({ url: `${task.syncUrls[index % task.syncUrls.length]}/${session.sessionId}?device=${device}`, onReceipt: () => undefined });
  });
  await connectAll(phones);
  send({ type: 'ready' });
  await new Promise<void>((resolve) => process.once('message', () => resolve())); // "stop"
  for (const phone of phones) phone.close();
  process.send?.({ type: 'done', results: [] } satisfies CampusWorkerMessage, undefined, {}, () => process.exit(0));
}

async function runBurst(task: CampusWorkerTask): Promise<void> {
  const results: CampusPhoneResult[] = [];
  const phones: CampusPhone[] = [];
  const openers: (() => void)[] = [];
  const schedule: { atMs: number; submit: () => void }[] = [];
  let submitted = 0;
  let receipts = 0;
  let burstStart = 0;
  let resolveAll: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (resolveAll = resolve));
  for (let i = 0; i < task.count; i++) {
    const index = task.firstIndex + i;
    const session = task.sessions[index % task.sessions.length]!;
    const studentId = `${task.idPrefix}${index}`;
    const device = deviceKeyPair();
    const result: CampusPhoneResult = { sessionId: session.sessionId, reconnects: 0 };
    let submittedAt = 0;
    let receiptAtMono = 0;
    let receiptMessage: Buffer | undefined;
    const phone = new CampusPhone({
      url: `${task.syncUrls[index % task.syncUrls.length]}/${session.sessionId}?device=${toBase64Url(device.publicKey)}`,
      onReceipt: (message) => {
        const now = performance.now();
        result.latencyMs = now - submittedAt;
        result.receiptAtMs = now - burstStart;
        receiptAtMono = monotonicMs();
        receiptMessage = message;
        if (++receipts === task.count) resolveAll();
      },
      ...(task.answeredStayOpen ? { staysOpen: true } : {}),
    });
    const scratch = new Y.Doc();
    const entry = sealEntry(
      { v: 1, student_id: studentId, payload_b64: session.qr.payload_b64, signature: session.qr.signature, scanned_at: Date.now() },
      session.validatorKey,
      device,
      nativeSharedKey,
    );
    entriesMap(scratch).set(entry.n, entry);
    phone.prepare(entry.n, Y.encodeStateAsUpdate(scratch));
    phones.push(phone);
    results.push(result);
    openers.push(() => {
      result.reconnects = phone.reconnects;
      if (phone.reopenMs !== undefined) result.reopenMs = phone.reopenMs;
      if (phone.closesAfterReceipt > 0) result.closesAfterReceipt = phone.closesAfterReceipt;
      if (phone.reconnectsAfterReceipt > 0) result.reconnectsAfterReceipt = phone.reconnectsAfterReceipt;
      if (phone.reopenAfterReceiptMs !== undefined) result.reopenAfterReceiptMs = phone.reopenAfterReceiptMs;
      if (phone.reconnects > 0) result.failover = { ...phone.failover, ...(receiptAtMono > 0 ? { receiptAt: receiptAtMono } : {}) };
      if (phone.failures.size > 0) result.failures = Object.fromEntries(phone.failures);
      if (phone.reopenedAt !== undefined && result.receiptAtMs !== undefined && submittedAt > 0 && submittedAt < phone.reopenedAt) result.afterReopenMs = burstStart + result.receiptAtMs - phone.reopenedAt;
      if (receiptMessage) result.status = openedReceiptStatus(receiptMessage, entry.n, session.validatorKey, device, studentId);
    });
    schedule.push({
      atMs: Math.random() * task.spreadMs,
      submit: () => {
        submittedAt = performance.now();
        phone.submit();
        submitted++;
      },
    });
  }
  await connectAll(phones);
  send({ type: 'ready' });
  await new Promise<void>((resolve) => process.once('message', () => resolve())); // "go"
  burstStart = performance.now();
  // A phone's timings are this process's: a stalled worker would add its stall to them.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const progress = setInterval(() => send({ type: 'progress', submitted, receipts }), 500);
  for (const { atMs, submit } of schedule) setTimeout(submit, atMs);
  // Missing receipts are reported, not waited for forever.
  setTimeout(resolveAll, task.spreadMs + 60_000).unref();
  await allDone;
  clearInterval(progress);
  send({ type: 'progress', submitted, receipts });
  for (const open of openers) open();
  for (const phone of phones) phone.close();
  delay.disable();
  process.send?.({ type: 'done', results, stallMs: delay.max / 1e6 } satisfies CampusWorkerMessage, undefined, {}, () => process.exit(0));
}

process.once('message', (task: CampusWorkerTask) => {
  send({ type: 'task', phones: task.count });
  (task.mode === 'idle' ? runIdle(task) : runBurst(task)).catch((error: unknown) => {
    console.error(`campus worker failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
});
send({ type: 'listening' });
