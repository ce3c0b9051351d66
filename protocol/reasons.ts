/**
 * Reason codes (docs/SPEC.md "Validation"), in the order the validator checks them: the first
 * failing rule decides. Tests name these codes; they are stable ids.
 */
export const REJECTION_REASONS = [
  'malformed',
  'undecryptable',
  'wrong_session',
  'bad_signature',
  'outside_window',
  'stale_qr',
  'sync_too_late',
  'device_reused',
  'duplicate',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/**
 * Refusals of the direct HTTP path (`POST /submit_attendance`) that are not decisions: the
 * request was turned away before any rule of the table above ran. Never stored, never in a
 * receipt (docs/http-api.md).
 */
export const DIRECT_PATH_REFUSALS = ['direct_path_disabled', 'rate_limited'] as const;
export type DirectPathRefusal = (typeof DIRECT_PATH_REFUSALS)[number];

/** `reason` of an accepted decision. */
export const ACCEPTED_REASON = 'ok';
export type DecisionReason = RejectionReason | typeof ACCEPTED_REASON;

/** Flags on accepted entries for the professor to review; never silent rejections. */
export const REVIEW_FLAGS = ['new_device', 'not_on_roster', 'delayed_sync', 'shared_address'] as const;
export type ReviewFlag = (typeof REVIEW_FLAGS)[number];

export type DecisionStatus = 'accepted' | 'rejected';

/** What a student sees for each code: plain words, and what to do next. */
export const REASON_TEXT: Record<DecisionReason | DirectPathRefusal, string> = {
  ok: 'Accepted: you are marked present.',
  malformed: 'The submission was damaged or not in a known format. Scan the QR code again.',
  undecryptable: 'The submission could not be opened by this session. Scan the QR code shown in the room again.',
  wrong_session: 'This QR code belongs to another session. Scan the code shown in your lecture now.',
  bad_signature: 'This QR code is not genuine (its signature does not match). Scan the code on the projector.',
  outside_window: 'This session is not open: it has not begun or has already ended. Check the time of your lecture; if it is on now, talk to your professor.',
  stale_qr: 'This QR code had already expired when it was scanned. Scan the current code on the projector.',
  sync_too_late: 'The submission reached the professor too long after the session ended. Talk to your professor.',
  device_reused: 'This phone was already used to sign in another student in this session. Each student signs in from their own phone: scan the code with yours, or talk to your professor.',
  duplicate: 'You are already marked present in this session. Nothing more to do.',
  direct_path_disabled: 'This session takes attendance only through the Rollcall app: open the QR link with your phone’s camera, or scan it in the app.',
  rate_limited: 'Too many submissions from your network at once. Wait a few seconds and try again.',
};

/** What an accepted scan counts as (SPEC.md S2), as a v2 receipt says it: `attendance`. */
export const SCAN_ATTENDANCE = ['present', 'late'] as const;
export type ScanAttendance = (typeof SCAN_ATTENDANCE)[number];

/** What a student sees for an acceptance after the session's late limit (status `late`, SPEC.md S2). */
export const ACCEPTED_LATE_TEXT = 'Accepted — late: you are marked late (scanned after the late limit).';

export function isRejectionReason(value: unknown): value is RejectionReason {
  return typeof value === 'string' && (REJECTION_REASONS as readonly string[]).includes(value);
}
