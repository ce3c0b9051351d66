/**
 * A benchmark worker process: simulates a share of the lecture hall. Each student has its own
 * device key and connection (filtered with `?device=` unless told otherwise), submits one sealed
 * entry at its scheduled time and waits for its receipt. Students are wire-level peers
 * (`runRaw`, the default) or, with `--phones yjs`, the real client stack: a Y.Doc and a
 * y-websocket provider each (`run`), which costs the 2-core machine more than the servers do.
 *
 * Talks to the orchestrator over the IPC channel (`process.send`): `ready` once every
 * connection has synced, `progress` every second, `done` with per-student figures.
 */
import WebSocket from 'ws';
import * as Y from 'yjs';
import { SyncProvider } from '../tests/helpers/SyncProvider.ts';
import { newBoxKeyPair, sealEntry, toBase64Url } from '../crypto/index.ts';
import { appendEntry, entriesMap, openReceiptFor, receiptsMap } from '../protocol/index.ts';
import { nativeSharedKey } from '../validator/index.ts';
import { RawStudent, deviceKeyPair, openedReceiptStatus, type ValidatorProof } from './rawStudent.ts';

export interface WorkerTask {
  syncUrl: string;
  sessionId: string;
  qr: { payload_b64: string; signature: string };
  validatorKey: string;
  firstIndex: number;
  count: number;
  /** Spread of the burst in ms: each student submits at a random time within it. */
  spreadMs: number;
  /** false: connect without `?device=` (the stock-server baseline, which cannot filter). */
  isFiltered: boolean;
  /**
   * Raw students on the relay that must hear the whole room (the same fan-out as the stock
   * server): they write on `?device=` and listen as the room's validator, proven with this.
   */
  roomView?: ValidatorProof;
  /** true: the receipt is a stand-in that does not open (stock baseline): its arrival counts. */
  isEcho: boolean;
  /** true: wire-level peers with pre-sealed entries (rawStudent.ts) instead of Y.Doc + WebsocketProvider. */
  isRaw?: boolean;
}

/** What the orchestrator gets back per student. */
export interface StudentResult {
  latencyMs?: number;
  status?: string;
  bytesReceived: number;
  bytesSent: number;
  /** ms since the burst started when the receipt arrived. */
  receiptAtMs?: number;
  /** The entry's nonce and when it was sent and its receipt arrived (Unix ms, this machine's clock): the orchestrator
   * lines them up with the validator's first_seen_ms and decided_at_ms to say where the time went. */
  nonce?: string;
  submittedAtUnixMs?: number;
  receiptAtUnixMs?: number;
}

export type WorkerMessage =
  /** The worker listens for its task: a message sent before this would be dropped (no listener yet). */
  | { type: 'listening' }
  | { type: 'ready' }
  | { type: 'progress'; submitted: number; receipts: number }
  | { type: 'done'; results: StudentResult[] };

interface Counter {
  received: number;
  sent: number;
}

function countingWebSocket(counter: Counter): typeof WebSocket {
  return class extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols);
      this.on('message', (data: Buffer | ArrayBuffer) => (counter.received += data.byteLength));
      const send = this.send.bind(this);
      this.send = ((data: Buffer | Uint8Array, ...rest: unknown[]) => {
        counter.sent += data.length;
        return (send as (...args: unknown[]) => void)(data, ...rest);
      }) as typeof this.send;
    }
  } as unknown as typeof WebSocket;
}

interface Student {
  doc: Y.Doc;
  provider: SyncProvider;
  counter: Counter;
  device: ReturnType<typeof newBoxKeyPair>;
  nonce?: string;
  submittedAt?: number;
  result: StudentResult;
}

function send(message: WorkerMessage): void {
  process.send?.(message);
}

/** Reports the results and exits once the IPC channel has taken them (a large hall's results are big). */
function finish(results: StudentResult[]): void {
  process.send?.({ type: 'done', results } satisfies WorkerMessage, undefined, {}, () => process.exit(0));
}

async function run(task: WorkerTask): Promise<void> {
  const students: Student[] = [];
  for (let i = 0; i < task.count; i++) {
    const device = newBoxKeyPair();
    const doc = new Y.Doc();
    const counter: Counter = { received: 0, sent: 0 };
    const provider = new SyncProvider(task.syncUrl, task.sessionId, doc, {
      WebSocketPolyfill: countingWebSocket(counter) as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      ...(task.isFiltered ? { params: { device: toBase64Url(device.publicKey) } } : {}),
    });
    provider.awareness.setLocalState(null); // phones need no presence; the relay keeps them alive
    students.push({ doc, provider, counter, device, result: { bytesReceived: 0, bytesSent: 0 } });
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 5)); // don't SYN-flood the accept queue
  }
  while (!students.every((s) => s.provider.synced)) await new Promise((r) => setTimeout(r, 20));
  send({ type: 'ready' });

  await new Promise<void>((resolve) => process.once('message', () => resolve())); // "go"
  const burstStart = performance.now();
  let submitted = 0;
  let receipts = 0;
  const progress = setInterval(() => send({ type: 'progress', submitted, receipts }), 1000);

  await new Promise<void>((resolveAll) => {
    for (const [index, student] of students.entries()) {
      const studentId = `B${task.firstIndex + index}`;
      receiptsMap(student.doc).observe(() => {
        if (!student.nonce || student.result.receiptAtMs !== undefined) return;
        const sealed = receiptsMap(student.doc).get(student.nonce) as { rn: string; c: string } | undefined;
        if (!sealed) return;
        const now = performance.now();
        student.result.receiptAtMs = now - burstStart;
        student.result.latencyMs = now - student.submittedAt!;
        if (task.isEcho) student.result.status = 'echo';
        else {
          student.result.status = openReceiptFor(sealed, task.validatorKey, student.device, studentId)?.status ?? 'unopenable';
        }
        receipts++;
        if (receipts === students.length) resolveAll();
      });
      setTimeout(() => {
        student.submittedAt = performance.now();
        const entry = sealEntry(
          { v: 1, student_id: studentId, payload_b64: task.qr.payload_b64, signature: task.qr.signature, scanned_at: Date.now() },
          task.validatorKey,
          student.device,
        );
        student.nonce = entry.n;
        appendEntry(student.doc, entry);
        submitted++;
      }, Math.random() * task.spreadMs);
    }
    // Give up after 60 s past the spread: missing receipts are reported, not waited for forever.
    setTimeout(resolveAll, task.spreadMs + 60_000).unref();
  });
  clearInterval(progress);
  send({ type: 'progress', submitted, receipts });
  for (const student of students) {
    student.result.bytesReceived = student.counter.received;
    student.result.bytesSent = student.counter.sent;
    student.provider.destroy();
    student.doc.destroy();
  }
  finish(students.map((s) => s.result));
}

/**
 * Wire-level students (rawStudent.ts): each entry is sealed and encoded before the clock starts,
 * and sent at its moment with one `send`; the message that carries the receipt is kept as it
 * arrived and opened with the device's key only after the clock stops (the echo baselines'
 * stand-in receipts are only recognised). So the measured seconds go to the servers.
 */
async function runRaw(task: WorkerTask): Promise<void> {
  const results: StudentResult[] = [];
  const students: RawStudent[] = [];
  /** Opens each student's receipt once the clock stopped. */
  const openers: (() => void)[] = [];
  let receipts = 0;
  let submitted = 0;
  let burstStart = 0;
  let resolveAll: () => void = () => undefined;
  const allDone = new Promise<void>((resolve) => (resolveAll = resolve));
  const submitAt: { atMs: number; submit: () => void }[] = [];
  for (let i = 0; i < task.count; i++) {
    const device = deviceKeyPair();
    const studentId = `R${task.firstIndex + i}`;
    const result: StudentResult = { bytesReceived: 0, bytesSent: 0 };
    const query = task.isFiltered || task.roomView ? `?device=${toBase64Url(device.publicKey)}` : '';
    let submittedAt = 0;
    let receiptMessage: Buffer | undefined;
    const student = new RawStudent({
      url: `${task.syncUrl}/${task.sessionId}${query}`,
      ...(task.roomView ? { roomView: { url: `${task.syncUrl}/${task.sessionId}`, proof: task.roomView } } : {}),
      onReceipt: (message) => {
        const now = performance.now();
        result.latencyMs = now - submittedAt;
        result.receiptAtMs = now - burstStart;
        result.receiptAtUnixMs = performance.timeOrigin + now;
        receiptMessage = message;
        if (++receipts === task.count) resolveAll();
      },
    });
    await student.connect();
    students.push(student);
    results.push(result);
    const scratch = new Y.Doc();
    const entry = sealEntry(
      { v: 1, student_id: studentId, payload_b64: task.qr.payload_b64, signature: task.qr.signature, scanned_at: Date.now() },
      task.validatorKey,
      device,
      nativeSharedKey,
    );
    entriesMap(scratch).set(entry.n, entry);
    student.prepare(entry.n, Y.encodeStateAsUpdate(scratch));
    result.nonce = entry.n;
    openers.push(() => {
      if (receiptMessage) result.status = task.isEcho ? 'echo' : openedReceiptStatus(receiptMessage, entry.n, task.validatorKey, device, studentId);
    });
    submitAt.push({
      atMs: Math.random() * task.spreadMs,
      submit: () => {
        submittedAt = performance.now();
        result.submittedAtUnixMs = performance.timeOrigin + submittedAt;
        student.submit();
        submitted++;
      },
    });
  }
  send({ type: 'ready' });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));
  burstStart = performance.now();
  const progress = setInterval(() => send({ type: 'progress', submitted, receipts }), 1000);
  if (task.spreadMs === 0) {
    for (const { submit } of submitAt) submit(); // the whole share at one instant
  } else {
    for (const { atMs, submit } of submitAt) setTimeout(submit, atMs);
  }
  setTimeout(resolveAll, task.spreadMs + 60_000).unref();
  await allDone;
  clearInterval(progress);
  send({ type: 'progress', submitted, receipts });
  for (const open of openers) open();
  students.forEach((student, i) => {
    results[i]!.bytesReceived = student.bytesReceived;
    results[i]!.bytesSent = student.bytesSent;
    student.close();
  });
  finish(results);
}

process.once('message', (task: WorkerTask) => {
  (task.isRaw ? runRaw(task) : run(task)).catch((error: unknown) => {
    console.error(`bench worker failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
});
send({ type: 'listening' });
