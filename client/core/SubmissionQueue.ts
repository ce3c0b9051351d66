/**
 * The submission core of both student clients (the phone app and `rollcall student`): turns a
 * scanned QR into a sealed entry in the session's Y.Doc, keeps every submission in a
 * SubmissionStore, and moves each one along (saved → sent → answered) as the relay syncs and
 * receipts arrive. Sessions that still wait for a receipt are reopened at start, so they sync
 * with no action from the student. It imports nothing DOM- or Node-only: storage and the
 * WebSocket constructor come from the shell.
 */
import { toBase64Url, type BoxKeyPair } from '../../crypto/index.ts';
import { SYNC_PATH_PREFIX, openReceiptFor, readScan, sealScan, type ScanProblem } from '../../protocol/index.ts';
import { ConnectionState, type Reachability } from './ConnectionState.ts';
import { RelayClock } from './RelayClock.ts';
import type { SessionDocStore } from './SessionDocStore.ts';
import { SessionSync, type RelayRefusal } from './SessionSync.ts';
import type { SubmissionStore } from './SubmissionStore.ts';
import { advance, isPending, newestFirst, type Submission } from './submission.ts';

/** While the relay does not answer, GET /time is tried again this often (no event says it is back). */
const UNREACHABLE_RETRY_MS = 5000;
/** A closing socket asks GET /time at most this often: y-websocket retries every 100 ms–2.5 s. */
const SOCKET_PROBE_MIN_INTERVAL_MS = 2000;

/** What the shell gives the core: the device, where things are kept, and the way to the relay. */
export interface SubmissionQueueOptions {
  device: BoxKeyPair;
  submissions: SubmissionStore;
  docs: SessionDocStore;
  /** The relay's HTTP origin (GET /time, and `ws(s)://…/sync`); undefined: work offline, send nothing. */
  relayOrigin: string | undefined;
  /** y-websocket's WebSocket constructor (Node: `ws`); the global one by default. */
  webSocket?: typeof WebSocket;
  /** The device clock (tests pass their own). */
  deviceNowMs?: () => number;
}

/** Something that went wrong that the student must hear about; `what` names what failed. */
export type QueueProblem =
  | { kind: 'storage'; what: string; error: string }
  | { kind: 'relay_refused'; sessionId: string; code: number; reason: string };

/** The answer to a scan: saved (new, or the earlier submission of the same QR), or why not. */
export type SubmitResult =
  | { ok: true; submission: Submission; isRepeat: boolean }
  | { ok: false; problem: ScanProblem; error: string }
  | { ok: false; problem: 'not_saved'; error: string };

export interface QueueEvents {
  /** Any submission changed; the whole list, newest first. */
  changed: (submissions: Submission[]) => void;
  sent: (submission: Submission) => void;
  answered: (submission: Submission) => void;
  problem: (problem: QueueProblem) => void;
  connection: (state: Reachability) => void;
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : String(error);
}

export class SubmissionQueue {
  readonly #options: SubmissionQueueOptions;
  readonly #submissions = new Map<string, Submission>();
  readonly #sessions = new Map<string, SessionSync>();
  readonly #listeners: { [K in keyof QueueEvents]: Set<QueueEvents[K]> } = {
    changed: new Set(),
    sent: new Set(),
    answered: new Set(),
    problem: new Set(),
    connection: new Set(),
  };
  readonly #connection = new ConnectionState();
  readonly clock: RelayClock;
  readonly #devicePublicKeyB64: string;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #probing: Promise<void> | undefined;
  #lastProbeAtMs = Number.NEGATIVE_INFINITY;
  #isDestroyed = false;

  constructor(options: SubmissionQueueOptions) {
    this.#options = options;
    this.#devicePublicKeyB64 = toBase64Url(options.device.publicKey);
    this.clock = new RelayClock({
      store: options.submissions,
      ...(options.relayOrigin ? { relayOrigin: options.relayOrigin } : {}),
      ...(options.deviceNowMs ? { deviceNowMs: options.deviceNowMs } : {}),
    });
    this.#connection.onChange((state) => {
      this.#emit('connection', state);
      if (state === 'unreachable') this.#scheduleProbe();
    });
    if (!options.relayOrigin) this.#connection.setNetwork(false);
  }

  on<K extends keyof QueueEvents>(event: K, listener: QueueEvents[K]): () => void {
    this.#listeners[event].add(listener);
    return () => this.#listeners[event].delete(listener);
  }

  get connection(): Reachability {
    return this.#connection.state;
  }

  /**
   * Loads the kept submissions and the clock offset, and reopens every session that still waits
   * for a receipt. Rejects, naming what failed, when the store cannot be read.
   */
  async start(): Promise<void> {
    for (const submission of await this.#options.submissions.loadAll()) this.#submissions.set(submission.nonce, submission);
    await this.clock.load();
    void this.probe();
    const pendingSessions = new Set(this.pending().map((s) => s.sessionId));
    await Promise.all([...pendingSessions].map((sessionId) => this.#resume(sessionId)));
    this.#emit('changed', this.list());
  }

  /** Newest first. */
  list(): Submission[] {
    return newestFirst(this.#submissions.values());
  }

  pending(): Submission[] {
    return this.list().filter(isPending);
  }

  /** The shell says whether the device has a network (the browser's online/offline events). */
  setNetwork(hasNetwork: boolean): void {
    if (!this.#options.relayOrigin) return;
    this.#connection.setNetwork(hasNetwork);
    if (hasNetwork) void this.probe();
  }

  /** GET /time: measures the clock and tells whether the relay answers. One at a time: a call while one is under way waits for it. */
  probe(): Promise<void> {
    if (!this.#options.relayOrigin || this.#isDestroyed) return Promise.resolve();
    this.#probing ??= (async () => {
      this.#lastProbeAtMs = Date.now();
      try {
        const answered = await this.clock.measure();
        if (!this.#isDestroyed) this.#connection.relayAnswered(answered);
      } finally {
        this.#probing = undefined;
      }
    })();
    return this.#probing;
  }

  /** Seals the QR for `typedStudentId` (sealed in NFC), saves it on this device, and lets sync carry it. */
  async submit(qrText: string, typedStudentId: string): Promise<SubmitResult> {
    const read = readScan(qrText, typedStudentId);
    if (!read.ok) return read;
    const { qr, payload, studentId } = read.scan; // studentId: the NFC spelling the validator reads
    const qrKey = `${qr.payload_b64}.${qr.signature}`;
    const repeat = this.list().find((s) => s.qrKey === qrKey && s.studentId === studentId);
    if (repeat) return { ok: true, submission: repeat, isRepeat: true };

    const { entry, plaintext } = sealScan(read.scan, this.clock.nowMs(), this.#options.device);
    const submission: Submission = {
      nonce: entry.n,
      sessionId: payload.s,
      course: payload.c,
      studentId,
      validatorKey: payload.k,
      qrKey,
      entry,
      scannedAtMs: plaintext.scanned_at,
      state: 'saved',
    };
    // Record first, then the doc: a record without its doc write is appended again at start.
    try {
      await this.#options.submissions.save(submission);
    } catch (error) {
      return { ok: false, problem: 'not_saved', error: errorText(error) };
    }
    this.#submissions.set(submission.nonce, submission);
    const session = this.#open(submission.sessionId);
    try {
      await session.append(entry);
    } catch (error) {
      // The record holds the entry: the next start appends it again. Still, say so.
      this.#emit('problem', { kind: 'storage', what: 'the session document', error: errorText(error) });
    }
    this.#refresh(session);
    this.#emit('changed', this.list());
    return { ok: true, submission: this.#submissions.get(entry.n) ?? submission, isRepeat: false };
  }

  /** Stops syncing; what is saved stays saved. */
  async destroy(): Promise<void> {
    this.#isDestroyed = true;
    clearTimeout(this.#retryTimer);
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((session) => session.destroy()));
  }

  async #resume(sessionId: string): Promise<void> {
    const session = this.#open(sessionId);
    try {
      await session.whenLoaded();
      // A record whose doc write was cut short (tab closed in between) is appended now: it
      // never reached the relay, since the socket sends only what the doc holds.
      for (const submission of this.pending()) {
        if (submission.sessionId === sessionId && !session.hasEntry(submission.nonce)) await session.append(submission.entry);
      }
    } catch (error) {
      this.#emit('problem', { kind: 'storage', what: 'the session document', error: errorText(error) });
    }
    this.#refresh(session);
  }

  #open(sessionId: string): SessionSync {
    const existing = this.#sessions.get(sessionId);
    if (existing) return existing;
    const relayOrigin = this.#options.relayOrigin;
    const session: SessionSync = new SessionSync({
      sessionId,
      docs: this.#options.docs,
      syncUrl: relayOrigin ? syncUrlFor(relayOrigin) : undefined,
      devicePublicKeyB64: this.#devicePublicKeyB64,
      webSocket: this.#options.webSocket,
      onChange: () => {
        if (this.#refresh(session)) this.#emit('changed', this.list());
      },
      onSocket: (isConnected) => {
        this.#connection.socket(sessionId, isConnected);
        // A socket that closed leaves only GET /time to say whether the relay still answers.
        if (!isConnected && this.#connection.hasNoOpenSocket && Date.now() - this.#lastProbeAtMs >= SOCKET_PROBE_MIN_INTERVAL_MS) void this.probe();
      },
      onRefusal: (refusal: RelayRefusal) => this.#emit('problem', { kind: 'relay_refused', sessionId, ...refusal }),
    });
    this.#sessions.set(sessionId, session);
    return session;
  }

  /** Moves this session's pending submissions forward; true if any changed. */
  #refresh(session: SessionSync): boolean {
    let changed = false;
    for (const submission of this.pending()) {
      if (submission.sessionId !== session.sessionId) continue;
      const next = advance(submission, {
        answer: openReceiptFor(session.receipt(submission.nonce), submission.validatorKey, this.#options.device, submission.studentId),
        isHeldByRelay: session.isSynced && session.hasEntry(submission.nonce),
        nowMs: this.clock.nowMs(),
      });
      if (next === submission) continue;
      changed = true;
      this.#submissions.set(next.nonce, next);
      // In memory it moves on at once; if the write fails the receipt is still in the doc, so the
      // next start finds the same answer. The student hears that the write failed.
      this.#options.submissions.save(next).catch((error: unknown) => {
        this.#emit('problem', { kind: 'storage', what: 'the submission history', error: errorText(error) });
      });
      this.#emit(isPending(next) ? 'sent' : 'answered', next);
    }
    return changed;
  }

  #scheduleProbe(): void {
    clearTimeout(this.#retryTimer);
    if (this.#isDestroyed) return;
    this.#retryTimer = setTimeout(() => {
      if (this.#connection.state !== 'unreachable') return;
      void this.probe().then(() => {
        if (this.#connection.state === 'unreachable') this.#scheduleProbe();
      });
    }, UNREACHABLE_RETRY_MS);
  }

  #emit<K extends keyof QueueEvents>(event: K, ...args: Parameters<QueueEvents[K]>): void {
    for (const listener of this.#listeners[event]) (listener as (...a: Parameters<QueueEvents[K]>) => void)(...args);
  }
}

/** `ws(s)://<host>/sync`: y-websocket's server URL; it appends `/<session_id>`. */
export function syncUrlFor(relayOrigin: string): string {
  const url = new URL(SYNC_PATH_PREFIX.replace(/\/$/, ''), relayOrigin);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}
