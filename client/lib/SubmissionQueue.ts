/**
 * The student app's local-first core (plain TS, no Svelte): turns a scanned QR into a sealed
 * entry in the session's Y.Doc, keeps a history of submissions in IndexedDB, and moves each
 * submission along as the relay syncs and receipts arrive. Pending sessions are reopened at
 * start, so they sync when the network returns with no action from the student.
 */
import { openReceiptFor, readScan, sealScan, type ScanProblem } from '../../protocol/index.ts';
import { correctedNowMs } from './clock.ts';
import type { Device } from './deviceKeys.ts';
import type { KeyValueStore } from './idbStore.ts';
import { SessionSync } from './SessionSync.ts';
import { isPending, type Submission } from './submission.ts';

/** What the student reads when a scan cannot be submitted, and what to do next. */
const SCAN_PROBLEM_TEXT: Record<ScanProblem, (detail: string) => string> = {
  not_rollcall_qr: (detail) => `This is not a Rollcall QR code (${detail}). Scan the code shown by your professor.`,
  damaged_payload: () => 'This QR code is damaged or from another app. Scan the code shown by your professor.',
  bad_student_id: (detail) => `Your student id is not valid (${detail}). Change it in Settings.`,
};

export interface SubmissionQueueOptions {
  device: Device;
  /** Submissions by nonce. */
  history: KeyValueStore;
  /** `ws(s)://<relay host>/sync`. */
  syncUrl: string;
  /** Called after any submission changed, with the whole list (newest first). */
  onChange: (submissions: Submission[]) => void;
}

export type SubmitResult =
  | { ok: true; submission: Submission; isRepeat: boolean }
  | { ok: false; error: string };

export class SubmissionQueue {
  readonly #options: SubmissionQueueOptions;
  readonly #submissions = new Map<string, Submission>();
  readonly #sessions = new Map<string, SessionSync>();

  constructor(options: SubmissionQueueOptions) {
    this.#options = options;
  }

  /** Loads the history and reopens every session that still waits for a receipt. */
  async start(): Promise<void> {
    for (const [nonce, submission] of await this.#options.history.entries<Submission>()) {
      this.#submissions.set(nonce, submission);
    }
    const pendingSessions = new Set(this.list().filter(isPending).map((s) => s.sessionId));
    for (const sessionId of pendingSessions) {
      const session = this.#open(sessionId);
      await session.whenLoaded();
      // A record whose doc write was cut short (tab closed in between) is appended now: it
      // never reached the relay, since the socket sends only what the doc holds.
      for (const submission of this.list()) {
        if (submission.sessionId === sessionId && isPending(submission) && !session.hasEntry(submission.nonce)) {
          await session.append(submission.entry);
        }
      }
    }
    this.#emit();
  }

  /** Newest first. */
  list(): Submission[] {
    return [...this.#submissions.values()].sort((a, b) => b.scannedAtMs - a.scannedAtMs);
  }

  /** Seals the QR for `typedStudentId` (sealed in NFC), saves it on this phone, and lets sync carry it. */
  async submit(qrText: string, typedStudentId: string): Promise<SubmitResult> {
    const read = readScan(qrText, typedStudentId);
    if (!read.ok) return { ok: false, error: SCAN_PROBLEM_TEXT[read.problem](read.error) };
    const { qr, payload, studentId } = read.scan; // studentId: the NFC spelling the validator reads

    const qrKey = `${qr.payload_b64}.${qr.signature}`;
    const repeat = this.list().find((s) => s.qrKey === qrKey && s.studentId === studentId);
    if (repeat) return { ok: true, submission: repeat, isRepeat: true };

    const { entry, plaintext } = sealScan(read.scan, correctedNowMs(), this.#options.device.keyPair);
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
    // Record first, then the doc: a record without its doc write is re-appended at start.
    await this.#save(submission);
    const session = this.#open(submission.sessionId);
    await session.append(entry);
    this.#refresh(session);
    this.#emit();
    return { ok: true, submission: this.#submissions.get(entry.n) ?? submission, isRepeat: false };
  }

  destroy(): void {
    for (const session of this.#sessions.values()) session.destroy();
    this.#sessions.clear();
  }

  #open(sessionId: string): SessionSync {
    const existing = this.#sessions.get(sessionId);
    if (existing) return existing;
    const session: SessionSync = new SessionSync({
      sessionId,
      syncUrl: this.#options.syncUrl,
      devicePublicKeyB64: this.#options.device.publicKeyB64,
      onChange: () => {
        if (this.#refresh(session)) this.#emit();
      },
    });
    this.#sessions.set(sessionId, session);
    return session;
  }

  /** Moves this session's pending submissions forward; true if any changed. */
  #refresh(session: SessionSync): boolean {
    let changed = false;
    for (const submission of this.list()) {
      if (submission.sessionId !== session.sessionId || !isPending(submission)) continue;
      const next = this.#advance(session, submission);
      if (next !== submission) {
        changed = true;
        void this.#save(next);
      }
    }
    return changed;
  }

  #advance(session: SessionSync, submission: Submission): Submission {
    const answer = openReceiptFor(session.receipt(submission.nonce), submission.validatorKey, this.#options.device.keyPair, submission.studentId);
    if (answer) {
      return {
        ...submission,
        state: answer.status,
        reason: answer.reason,
        flags: answer.flags,
        decidedAtMs: answer.decided_at,
        sentAtMs: submission.sentAtMs ?? correctedNowMs(),
      };
    }
    if (submission.state === 'saved' && session.isSynced && session.hasEntry(submission.nonce)) {
      return { ...submission, state: 'sent', sentAtMs: correctedNowMs() };
    }
    return submission;
  }

  async #save(submission: Submission): Promise<void> {
    this.#submissions.set(submission.nonce, submission);
    await this.#options.history.set(submission.nonce, submission);
  }

  #emit(): void {
    this.#options.onChange(this.list());
  }
}
