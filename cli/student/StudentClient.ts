/**
 * The terminal student client's engine, on the same protocol as the phone app: a Y.Doc per
 * session persisted in the local store, a y-websocket connection per session with
 * `?device=<d>` (filtered sync), entries sealed to the QR's validator key, receipts opened
 * with the device key. Offline, submissions wait in the store; online, Yjs sync sends them.
 */
import { WebsocketProvider } from 'y-websocket';
import WebSocket from 'ws';
import * as Y from 'yjs';
import type { BoxKeyPair } from '../../crypto/index.ts';
import {
  DEVICE_QUERY_PARAM,
  SYNC_PATH_PREFIX,
  appendEntry,
  entriesMap,
  openReceiptFor,
  readScan,
  receiptsMap,
  sealScan,
  type ReceiptPlaintext,
  type ScanProblem,
} from '../../protocol/index.ts';
import type { StudentStore, StudentSubmission } from './StudentStore.ts';

/** Prefix of the error a terminal user sees for each kind of unusable scan. */
const SCAN_PROBLEM_LABEL: Record<ScanProblem, string> = {
  not_rollcall_qr: '',
  damaged_payload: 'QR payload: ',
  bad_student_id: 'student id: ',
};

/** Origin of doc updates replayed from the local store: they are already stored. */
const FROM_STORE = Symbol('from-store');
/** Origin of the local append that carries a new submission: stored with the submission row. */
const LOCAL_SUBMIT = Symbol('local-submit');

export interface StudentClientOptions {
  store: StudentStore;
  /** The relay's HTTP base URL, e.g. http://localhost:5000. */
  serverUrl: string;
  isOnline: boolean;
  /** Called once per decision that reaches this device. */
  onDecision?: (submission: StudentSubmission, receipt: ReceiptPlaintext) => void;
  /** Human-readable progress lines. */
  onStatus?: (line: string) => void;
  now?: () => number;
}

export type SubmitResult = { ok: true; submission: StudentSubmission } | { ok: false; error: string };

interface OpenSession {
  doc: Y.Doc;
  provider?: WebsocketProvider;
}

export class StudentClient {
  readonly #options: StudentClientOptions;
  readonly #device: BoxKeyPair;
  readonly #sessions = new Map<string, OpenSession>();
  readonly #now: () => number;

  constructor(options: StudentClientOptions) {
    this.#options = options;
    this.#device = options.store.deviceKeyPair();
    this.#now = options.now ?? Date.now;
  }

  get devicePublicKey(): Uint8Array {
    return this.#device.publicKey;
  }

  /** Measures the relay clock's offset (GET /time) and keeps it for `scanned_at`. Online only. */
  async measureClock(): Promise<number | undefined> {
    if (!this.#options.isOnline) return undefined;
    try {
      const sentAt = this.#now();
      const response = await fetch(new URL('/time', this.#options.serverUrl), { signal: AbortSignal.timeout(5000) });
      const receivedAt = this.#now();
      const body = (await response.json()) as { now_ms?: unknown };
      if (typeof body.now_ms !== 'number') return undefined;
      const offset = body.now_ms - (sentAt + receivedAt) / 2;
      this.#options.store.setClockOffsetMs(offset);
      return offset;
    } catch {
      this.#status('could not reach the relay to check the clock; using the last known offset');
      return undefined;
    }
  }

  /** Seals a scanned QR for `typedStudentId` (sealed in NFC) and appends it to the session's doc. */
  submit(qrText: string, typedStudentId: string): SubmitResult {
    const read = readScan(qrText, typedStudentId);
    if (!read.ok) return { ok: false, error: `${SCAN_PROBLEM_LABEL[read.problem]}${read.error}` };
    const { entry, plaintext } = sealScan(read.scan, this.#now() + this.#options.store.clockOffsetMs(), this.#device);
    const { payload, studentId } = read.scan; // studentId: the NFC spelling the validator reads
    const sessionId = payload.s;
    const session = this.#open(sessionId);
    const submission: StudentSubmission = {
      nonce: entry.n,
      sessionId,
      course: payload.c,
      studentId,
      validatorKey: payload.k,
      scannedAtMs: plaintext.scanned_at,
      state: 'saved',
    };
    let update: Uint8Array | undefined;
    const capture = (u: Uint8Array, origin: unknown) => {
      if (origin === LOCAL_SUBMIT) update = u;
    };
    session.doc.on('update', capture);
    session.doc.transact(() => appendEntry(session.doc, entry), LOCAL_SUBMIT);
    session.doc.off('update', capture);
    if (!update) return { ok: false, error: 'internal: the entry produced no update' };
    this.#options.store.saveSubmission(submission, update);
    if (session.provider?.synced) this.#markSent(session);
    return { ok: true, submission };
  }

  /** Opens every session that still waits for a receipt, so Yjs sync sends what is pending. */
  resumePending(): number {
    const pending = new Set(this.pending().map((s) => s.sessionId));
    for (const sessionId of pending) this.#open(sessionId);
    return pending.size;
  }

  /** Every submission made on this device, oldest first (the history). */
  submissions(): StudentSubmission[] {
    return this.#options.store.submissions();
  }

  pending(): StudentSubmission[] {
    return this.#options.store.submissions().filter((s) => s.state === 'saved' || s.state === 'sent');
  }

  /** Resolves when no submission is pending, or after `timeoutMs` with what is still pending. */
  async waitForReceipts(timeoutMs: number): Promise<StudentSubmission[]> {
    const deadline = this.#now() + timeoutMs;
    while (this.pending().length > 0 && this.#now() < deadline) await new Promise((r) => setTimeout(r, 100));
    return this.pending();
  }

  close(): void {
    for (const session of this.#sessions.values()) {
      session.provider?.destroy();
      session.doc.destroy();
    }
    this.#sessions.clear();
  }

  #open(sessionId: string): OpenSession {
    const existing = this.#sessions.get(sessionId);
    if (existing) return existing;
    const doc = new Y.Doc();
    for (const update of this.#options.store.loadUpdates(sessionId)) Y.applyUpdate(doc, update, FROM_STORE);
    // Everything else that changes the doc (receipts, our entries echoed back) is kept too.
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== FROM_STORE && origin !== LOCAL_SUBMIT) this.#options.store.appendUpdate(sessionId, update);
    });
    const session: OpenSession = { doc };
    this.#sessions.set(sessionId, session);
    receiptsMap(doc).observe(() => this.#readReceipts(sessionId, doc));
    this.#readReceipts(sessionId, doc);
    if (this.#options.isOnline) session.provider = this.#connect(sessionId, session);
    return session;
  }

  #connect(sessionId: string, session: OpenSession): WebsocketProvider {
    const base = new URL(this.#options.serverUrl);
    base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    const syncUrl = new URL(SYNC_PATH_PREFIX.replace(/\/$/, ''), base).href;
    const provider = new WebsocketProvider(syncUrl, sessionId, session.doc, {
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
      disableBc: true,
      params: { [DEVICE_QUERY_PARAM]: Buffer.from(this.#device.publicKey).toString('base64url') },
    });
    provider.on('sync', (isSynced: boolean) => {
      if (isSynced) this.#markSent(session);
    });
    provider.on('connection-close', (event: { code?: number; reason?: string } | null) => {
      if (event?.code && event.code >= 4400 && event.code < 4500) {
        this.#status(`the relay refused this session's sync (${event.code} ${event.reason ?? ''}); pending submissions stay saved here`);
      }
    });
    return provider;
  }

  #markSent(session: OpenSession): void {
    for (const submission of this.pending()) {
      if (submission.state === 'saved' && entriesMap(session.doc).has(submission.nonce) && this.#options.store.markSent(submission.nonce)) {
        this.#status(`sent to the relay: ${submission.course} (${submission.studentId})`);
      }
    }
  }

  #readReceipts(sessionId: string, doc: Y.Doc): void {
    const receipts = receiptsMap(doc);
    for (const submission of this.pending()) {
      if (submission.sessionId !== sessionId) continue;
      // A receipt that does not open, or names another student, is ignored (docs/SPEC.md).
      const answer = openReceiptFor(receipts.get(submission.nonce), submission.validatorKey, this.#device, submission.studentId);
      if (!answer) continue;
      const receiptAtMs = Math.round(this.#now() + this.#options.store.clockOffsetMs());
      if (this.#options.store.recordDecision(submission.nonce, answer.status, answer.reason, answer.flags, receiptAtMs)) {
        this.#options.onDecision?.({ ...submission, state: answer.status, reason: answer.reason, flags: answer.flags, receiptAtMs }, answer);
      }
    }
  }

  #status(line: string): void {
    this.#options.onStatus?.(line);
  }
}
