/**
 * A submission as a student's device remembers it, and the pure rule that moves it along:
 * saved (on this device) → sent (the relay holds it) → answered (accepted / rejected).
 * The one Submission type of both student clients (the phone app and `rollcall student`).
 */
import type { DecisionReason, Entry, ReceiptPlaintext, ReviewFlag, ScanAttendance } from '../../protocol/index.ts';

export type SubmissionState = 'saved' | 'sent' | 'accepted' | 'rejected';

/** One scan, kept on the device until (and after) its receipt arrives. */
export interface Submission {
  /** The entry's nonce `n`: its id everywhere. */
  nonce: string;
  sessionId: string;
  course: string;
  /** As the validator reads it (NFC). */
  studentId: string;
  /** The QR's validator key `k`: opens this submission's receipt. */
  validatorKey: string;
  /** `<payload_b64>.<signature>`: one student never submits the same QR twice. Empty for submissions kept before it was recorded. */
  qrKey: string;
  /** The sealed entry, so it can be appended again if the doc write was cut short. */
  entry: Entry;
  /** Relay-clock ms. */
  scannedAtMs: number;
  /** Relay-clock ms when this device saw the relay hold it. */
  sentAtMs?: number;
  state: SubmissionState;
  reason?: DecisionReason;
  flags?: ReviewFlag[];
  /** The receipt's `decided_at`: the validator's clock, which is the relay's. */
  decidedAtMs?: number;
  /** Present or late, as an accepted receipt v2 says (SPEC.md F2); absent when the receipt (v1) did not say. */
  attendance?: ScanAttendance;
}

export function isPending(submission: Submission): boolean {
  return submission.state === 'saved' || submission.state === 'sent';
}

export function isAnswered(submission: Submission): boolean {
  return !isPending(submission);
}

/**
 * Scan-to-decision latency in ms, once answered: the receipt's `decided_at` − `scanned_at`,
 * both on the relay's clock (the one meaning of latency in both clients).
 */
export function latencyMs(submission: Submission): number | undefined {
  if (submission.decidedAtMs === undefined) return undefined;
  return Math.max(0, submission.decidedAtMs - submission.scannedAtMs);
}

/** What this device knows now about one submission's session. */
export interface SessionFacts {
  /** The receipt for this submission, opened and checked (`openReceiptFor`), if it is there. */
  answer: ReceiptPlaintext | undefined;
  /** The session's socket is synced with the relay and the doc holds this entry. */
  isHeldByRelay: boolean;
  /** Relay-clock now. */
  nowMs: number;
}

/**
 * The next state of a submission (the same object when nothing changes). Never goes back:
 * an answered submission stays answered, a sent one is never saved again.
 */
export function advance(submission: Submission, facts: SessionFacts): Submission {
  if (!isPending(submission)) return submission;
  if (facts.answer) {
    return {
      ...submission,
      state: facts.answer.status,
      reason: facts.answer.reason,
      flags: facts.answer.flags,
      decidedAtMs: facts.answer.decided_at,
      ...(facts.answer.v === 2 && facts.answer.attendance ? { attendance: facts.answer.attendance } : {}),
      sentAtMs: submission.sentAtMs ?? facts.nowMs,
    };
  }
  if (submission.state === 'saved' && facts.isHeldByRelay) return { ...submission, state: 'sent', sentAtMs: facts.nowMs };
  return submission;
}

/** Newest scan first. */
export function newestFirst(submissions: Iterable<Submission>): Submission[] {
  return [...submissions].sort((a, b) => b.scannedAtMs - a.scannedAtMs);
}
