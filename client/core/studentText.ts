/**
 * The words both student clients show: each state, what to do next, and each problem naming
 * what failed. One place, so the phone and the terminal never say different things.
 */
import { ACCEPTED_LATE_TEXT, REASON_TEXT, type ScanProblem } from '../../protocol/index.ts';
import type { Reachability } from './ConnectionState.ts';
import type { QueueProblem, SubmitResult } from './SubmissionQueue.ts';
import type { Submission, SubmissionState } from './submission.ts';

export const STATE_TEXT: Record<SubmissionState, string> = {
  saved: 'Saved on this phone',
  sent: 'Sent to the relay',
  accepted: 'Accepted',
  rejected: 'Rejected',
};

/** The title of an acceptance that a receipt v2 says came after the late limit (SPEC.md S2, F2). */
export const ACCEPTED_LATE_TITLE = 'Accepted — late';

/**
 * What an accepted receipt v1 means in words: a validator of the previous release answered, and
 * v1 does not say present or late, so the phone does not claim either.
 */
export const ACCEPTED_UNSAID_TEXT = 'Accepted: your attendance is recorded.';

/**
 * The title of a submission's card and line, in both clients: the one place a receipt outcome
 * gets its words. A receipt v2 says present or late (`attendance`, copied by `advance`).
 */
export function submissionTitle(submission: Pick<Submission, 'state' | 'reason' | 'attendance'>): string {
  if (submission.state === 'accepted' && submission.attendance === 'late') return ACCEPTED_LATE_TITLE;
  return STATE_TEXT[submission.state];
}

/** The sentence under the title of an answered submission: what it means, and what to do next. */
export function answerText(submission: Pick<Submission, 'state' | 'reason' | 'attendance'>): string | undefined {
  if (submission.state === 'accepted') {
    if (submission.attendance === 'late') return ACCEPTED_LATE_TEXT;
    return submission.attendance === 'present' ? REASON_TEXT.ok : ACCEPTED_UNSAID_TEXT;
  }
  return submission.state === 'rejected' && submission.reason ? REASON_TEXT[submission.reason] : undefined;
}

/** The badge: what is true about the way to the relay. */
export const CONNECTION_TEXT: Record<Reachability, string> = {
  offline: 'Offline',
  checking: 'Connecting…',
  unreachable: 'Can’t reach the relay',
  connected: 'Connected',
};

/** What a pending submission waits for, given the connection, and that nothing needs doing. */
export function pendingHint(state: 'saved' | 'sent', connection: Reachability): string {
  if (state === 'sent') return 'Waiting for the professor’s laptop to answer. You can close the app.';
  switch (connection) {
    case 'offline':
      return 'It will be sent by itself as soon as this phone is online. You can close the app.';
    case 'unreachable':
      return 'This phone is online but cannot reach the relay (the professor’s laptop or the campus server). It will be sent by itself as soon as the relay answers. You can close the app.';
    default:
      return 'Sending it to the relay now. You can close the app: it is sent by itself when the app next opens.';
  }
}

/** Why a scan was not submitted, and what to do next. `detail` is the reader's own words. */
export function scanProblemText(problem: ScanProblem, detail: string): string {
  switch (problem) {
    case 'not_rollcall_qr':
      // detail already says "not a Rollcall QR code (…)": keep only what it adds.
      return `This is not a Rollcall QR code (${detail.replace(/^not a Rollcall QR code\s*\(?(.*?)\)?$/, '$1')}). Scan the code shown by your professor.`;
    case 'damaged_payload':
      return `This QR code is damaged or from another app (${detail}). Scan the code shown by your professor.`;
    case 'bad_student_id':
      return `Your student id is not valid (${detail}). Change it, then scan again.`;
  }
}

/** The refusal of a submit, as the student reads it. */
export function submitProblemText(result: Extract<SubmitResult, { ok: false }>): string {
  if (result.problem === 'not_saved') return `The scan could not be saved on this device (${result.error}). Nothing was sent. Free some storage space, then scan again.`;
  return scanProblemText(result.problem, result.error);
}

/** A problem the queue reported while working, naming what failed and what to do. */
export function queueProblemText(problem: QueueProblem): string {
  if (problem.kind === 'storage') {
    return `Could not write ${problem.what} on this device (${problem.error}). Your scans are kept; free some storage space and reopen the app.`;
  }
  return `The relay refused this session’s sync (${problem.code}${problem.reason ? ` ${problem.reason}` : ''}). Your scan stays saved on this device; show this message to your professor.`;
}

/** "0.8 s", "12 s", "3 min", "2 h": how long the answer took, in words read at a glance. */
export function formatLatency(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}
