/**
 * A submission as this phone remembers it (the history), and the pure rules that move it
 * along: saved on this phone → sent to the relay → accepted / rejected.
 */
import type { SealedEntry } from '../../crypto/index.ts';
import type { DecisionReason, ReviewFlag } from '../../protocol/index.ts';

export type SubmissionState = 'saved' | 'sent' | 'accepted' | 'rejected';

/** One scan, kept on the device until (and after) its receipt arrives. */
export interface Submission {
  /** The entry's nonce `n`: its id everywhere. */
  nonce: string;
  sessionId: string;
  course: string;
  studentId: string;
  /** The QR's validator key `k`: opens this submission's receipt. */
  validatorKey: string;
  /** `<payload_b64>.<signature>`: the same QR is never submitted twice by one student. */
  qrKey: string;
  /** The sealed entry, so it can be re-appended if the doc write was cut short. */
  entry: SealedEntry;
  /** Relay-clock ms. */
  scannedAtMs: number;
  sentAtMs?: number;
  state: SubmissionState;
  reason?: DecisionReason;
  flags?: ReviewFlag[];
  decidedAtMs?: number;
}

export function isPending(submission: Submission): boolean {
  return submission.state === 'saved' || submission.state === 'sent';
}

/** Scan-to-decision latency in ms, once decided. */
export function latencyMs(submission: Submission): number | undefined {
  if (submission.decidedAtMs === undefined) return undefined;
  return Math.max(0, submission.decidedAtMs - submission.scannedAtMs);
}

/** "0.8 s", "12 s", "3 min", "2 h": how long the answer took, in words a student reads at a glance. */
export function formatLatency(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

export const STATE_TEXT: Record<SubmissionState, string> = {
  saved: 'Saved on this phone',
  sent: 'Sent to the relay',
  accepted: 'Accepted',
  rejected: 'Rejected',
};

/** What to tell the student about a pending state. */
export const STATE_HINT: Record<'saved' | 'sent', string> = {
  saved: 'It will be sent by itself as soon as this phone is online. You can close the app.',
  sent: 'Waiting for the professor\u2019s laptop to answer. You can close the app.',
};
