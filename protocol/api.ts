/**
 * The validator's HTTP API (docs/http-api.md) as zod schemas and their types: the single
 * source of every request and response body. The validator builds its answers as these types
 * and parses requests with the request schemas; the CLI and the dashboard parse answers with
 * the response schemas (no casts).
 *
 * Requests are strict (an unknown field is refused `invalid_request`: a typo never passes
 * silently). Responses are not: a newer validator may add a field, and an older client must
 * still read the fields it knows. Exported names are stable: add, never rename.
 */
import { z } from 'zod';
import { MAX_STUDENT_ID_CHARS } from './constants.ts';
import { ACCEPTED_REASON, DIRECT_PATH_REFUSALS, REJECTION_REASONS, REVIEW_FLAGS } from './reasons.ts';
import { courseName, sessionId, studentId } from './schemas.ts';

// ---------------------------------------------------------------- common pieces

const unixSeconds = z.number().int().min(0).max(2 ** 40);
const unixMs = z.number().int().min(0).max(2 ** 50);

/** Minutes after a session's start from which a scan is `late` (S2): 0 to 1440 (a day), fractions allowed. */
const LATE_AFTER_PROBLEM = 'must be a number of minutes from 0 to 1440 after the start, or null for no late status';
const lateAfterMinutes = z.number({ error: LATE_AFTER_PROBLEM }).min(0, LATE_AFTER_PROBLEM).max(1440, LATE_AFTER_PROBLEM);

/** Every 4xx/5xx answer: a sentence a person can act on, and a stable code. */
export const ApiErrorSchema = z.object({ error: z.string(), code: z.string() });
export type ApiError = z.infer<typeof ApiErrorSchema>;

/**
 * Attendance statuses of a student in a session (docs/SPEC.md "Statuses", stable ids S1–S4).
 * `present` and `late` come from an accepted scan (late: after the session's
 * `late_after_minutes`); `absent` from no accepted scan once the session ended; `excused` only
 * from a professor's mark.
 */
export const ATTENDANCE_STATUSES = ['present', 'late', 'excused', 'absent'] as const;
export const AttendanceStatusSchema = z.enum(ATTENDANCE_STATUSES);
export type AttendanceStatus = z.infer<typeof AttendanceStatusSchema>;

export const ReviewFlagSchema = z.enum(REVIEW_FLAGS);
/** How a decision reached the validator. */
export const DecisionViaSchema = z.enum(['sync', 'direct', 'manual']);

// ---------------------------------------------------------------- GET /healthz

export const RelayStatusSchema = z.object({ url: z.string(), rooms: z.number(), connected: z.number(), waiting: z.number() });
export const HealthResponseSchema = z.object({ ok: z.literal(true), service: z.string(), relay: RelayStatusSchema.optional() });
export type HealthResponse = z.infer<typeof HealthResponseSchema>;

// ---------------------------------------------------------------- login

export const LoginRequestSchema = z.strictObject({ secret: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be the 43-character secret of a login link') });
export type LoginRequest = z.infer<typeof LoginRequestSchema>;
export const LoginResponseSchema = z.object({ ok: z.literal(true), expires_at: unixMs });
export type LoginResponse = z.infer<typeof LoginResponseSchema>;
export const LogoutResponseSchema = z.object({ logged_out: z.boolean() });
export type LogoutResponse = z.infer<typeof LogoutResponseSchema>;
/** At most a day: a login link is for the next few minutes. */
export const MAX_LOGIN_LINK_MINUTES = 24 * 60;
export const LoginLinkRequestSchema = z.strictObject({ expires_minutes: z.number().positive().max(MAX_LOGIN_LINK_MINUTES).optional() });
export type LoginLinkRequest = z.infer<typeof LoginLinkRequestSchema>;
export const LoginLinkResponseSchema = z.object({ login_url: z.string(), expires_at: unixMs });
export type LoginLinkResponse = z.infer<typeof LoginLinkResponseSchema>;

// ---------------------------------------------------------------- sessions

/** Body of `POST /create_session` (the seed's two fields plus options). */
export const CreateSessionRequestSchema = z.strictObject({
  course: courseName,
  /** Minutes; fractions allowed (a 30-second session is 0.5), at most a day. */
  duration_minutes: z.number().positive().max(1440),
  starts_at: unixSeconds.optional(),
  rotate_seconds: z.number().int().min(0).max(3600).optional(),
  skew_seconds: z.number().int().min(0).max(3600).optional(),
  late_sync_minutes: z.number().int().min(0).max(60 * 24 * 30).optional(),
  /** Whether `POST /submit_attendance` may be used for this session (default true, as the seed). */
  direct_path: z.boolean().optional(),
  /** A scan after start + this many minutes is `late` (default: the course's setting; null: never late). */
  late_after_minutes: lateAfterMinutes.nullable().optional(),
});
export type CreateSessionRequest = z.infer<typeof CreateSessionRequestSchema>;

/** A session as professors see it: no secret, no private key. */
export const SessionSchema = z.object({
  session_id: z.string(),
  course: z.string(),
  starts_at: unixSeconds,
  ends_at: unixSeconds,
  rotate_seconds: z.number(),
  skew_seconds: z.number(),
  late_sync_minutes: z.number(),
  validator_key: z.string(),
  /** Unix ms. */
  created_at: unixMs,
  ended_early: z.boolean(),
  direct_path: z.boolean(),
  is_live: z.boolean(),
  /** Scans after start + this many minutes are `late`; null: no late status for this session. */
  late_after_minutes: z.number().nullable().default(null),
  /**
   * Until when (Unix ms) an offline scan may still sync: absences are provisional until then
   * (end + late_sync_minutes).
   */
  provisional_until: unixMs.optional(),
});
export type Session = z.infer<typeof SessionSchema>;

/** The QR valid at one moment (`POST /create_session`, `GET /qr/<id>`). */
export const IssuedQrSchema = z.object({
  session_id: z.string(),
  course: z.string(),
  payload_b64: z.string(),
  signature: z.string(),
  qr_text: z.string(),
  /** The slot `t` (Unix s). */
  slot: unixSeconds,
  rotate_seconds: z.number(),
  /** When this QR is replaced (Unix ms); null for a static QR. */
  expires_at: unixMs.nullable(),
  starts_at: unixSeconds,
  ends_at: unixSeconds,
  skew_seconds: z.number(),
  late_sync_minutes: z.number(),
  /** Why this QR would not work if shown now (e.g. a rotating QR made before the start); absent when it works. */
  warning: z.string().optional(),
});
export type IssuedQr = z.infer<typeof IssuedQrSchema>;

export const CreateSessionResponseSchema = IssuedQrSchema.extend({
  direct_path: z.boolean(),
  late_after_minutes: z.number().nullable().default(null),
});
export type CreateSessionResponse = z.infer<typeof CreateSessionResponseSchema>;

export const QrResponseSchema = IssuedQrSchema.extend({
  server_time_ms: unixMs,
  is_live: z.boolean(),
  accepted_count: z.number().int(),
});
export type QrResponse = z.infer<typeof QrResponseSchema>;

/** Counts on `GET /sessions`: decisions as before, and the statuses of the course's students. */
export const SessionCountsSchema = z.object({
  decisions: z.number().int(),
  accepted: z.number().int(),
  rejected: z.number().int(),
  present: z.number().int().default(0),
  late: z.number().int().default(0),
  excused: z.number().int().default(0),
  absent: z.number().int().default(0),
});
export type SessionCounts = z.infer<typeof SessionCountsSchema>;

export const ListedSessionSchema = SessionSchema.extend({ counts: SessionCountsSchema });
export type ListedSession = z.infer<typeof ListedSessionSchema>;
/** `GET /sessions` (all courses) and `GET /sessions?course=<name>`: newest first. */
export const SessionsResponseSchema = z.object({ sessions: z.array(ListedSessionSchema) });
export type SessionsResponse = z.infer<typeof SessionsResponseSchema>;

export const EndSessionRequestSchema = z.strictObject({ session_id: sessionId });
export type EndSessionRequest = z.infer<typeof EndSessionRequestSchema>;
export const EndSessionResponseSchema = SessionSchema.extend({ already_ended: z.boolean() });
export type EndSessionResponse = z.infer<typeof EndSessionResponseSchema>;

/**
 * Options a professor may change on an existing session, live or ended: the direct path switch,
 * and the late rule (S8: statuses follow it at once). Each is optional; at least one is given.
 */
export const SessionOptionsRequestSchema = z
  .strictObject({ session_id: sessionId, direct_path: z.boolean().optional(), late_after_minutes: lateAfterMinutes.nullable().optional() })
  .refine((request) => request.direct_path !== undefined || request.late_after_minutes !== undefined, {
    error: 'say what to change: direct_path (true or false) and/or late_after_minutes (minutes, or null for no late status)',
  });
export type SessionOptionsRequest = z.infer<typeof SessionOptionsRequestSchema>;
export const SessionOptionsResponseSchema = SessionSchema;

/** `POST /delete_session`: only a session without any accepted scan (a test session). */
export const DeleteSessionRequestSchema = z.strictObject({ session_id: sessionId });
export type DeleteSessionRequest = z.infer<typeof DeleteSessionRequestSchema>;
export const DeleteSessionResponseSchema = z.object({ session_id: z.string(), deleted: z.literal(true), rejections_deleted: z.number().int() });
export type DeleteSessionResponse = z.infer<typeof DeleteSessionResponseSchema>;

/**
 * `GET /audit_log` (SPEC.md S9): what was done on this validator, newest first. `detail` is the
 * action's own record (e.g. `late_after_minutes` and `late_after_minutes_before`); it never
 * holds a secret. `next_before`: pass it as `?before=` for the older page; null on the last.
 */
export const AuditEventSchema = z.object({
  id: z.number().int(),
  at: z.number().int(),
  actor: z.string(),
  action: z.string(),
  session_id: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
});
export type AuditEventView = z.infer<typeof AuditEventSchema>;
export const AuditLogResponseSchema = z.object({ events: z.array(AuditEventSchema), next_before: z.number().int().nullable() });
export type AuditLogResponse = z.infer<typeof AuditLogResponseSchema>;
/** Events per page of `GET /audit_log`: the default, and the most `?limit=` may ask for. */
export const AUDIT_PAGE_DEFAULT = 100;
export const AUDIT_PAGE_MAX = 1000;

// ---------------------------------------------------------------- direct path (students)

export const SubmitAttendanceRequestSchema = z.strictObject({ student_id: z.unknown(), payload_b64: z.unknown(), signature: z.unknown() });
/** Every answer of `POST /submit_attendance` but the 503 (disk full). */
export const SubmitAttendanceResponseSchema = z.object({
  status: z.enum(['accepted', 'rejected']),
  reason: z.enum([ACCEPTED_REASON, ...REJECTION_REASONS, ...DIRECT_PATH_REFUSALS]),
  flags: z.array(ReviewFlagSchema),
  session_id: z.string().optional(),
  course: z.string().optional(),
  decided_at: unixMs.optional(),
  message: z.string(),
  error: z.string().optional(),
  retry_after_s: z.number().optional(),
  latency_ms: z.number(),
  /** On an acceptance: `late` when scanned after the session's late_after_minutes (message "Accepted — late"). */
  attendance_status: z.enum(['present', 'late']).optional(),
});
export type SubmitAttendanceResponse = z.infer<typeof SubmitAttendanceResponseSchema>;

// ---------------------------------------------------------------- attendance (one session's decisions)

export const AttendanceRowSchema = z.object({
  student_id: z.string().nullable(),
  decided_at: unixMs,
  flags: z.array(ReviewFlagSchema),
  via: DecisionViaSchema,
  device: z.string().nullable(),
  reason: z.string(),
  note: z.string().optional(),
  /** The client address of a direct submission (the socket's); null on the other paths. */
  address: z.string().nullable(),
});
export type AttendanceRow = z.infer<typeof AttendanceRowSchema>;

export const AttendanceResponseSchema = z.object({
  session: SessionSchema,
  accepted: z.array(AttendanceRowSchema),
  rejected: z.array(AttendanceRowSchema),
  counts: z.object({ accepted: z.number().int(), rejected: z.number().int(), flagged: z.number().int() }),
  /** Direct-path rejections answered but not stored, per client address (past the per-address cap). */
  unstored_rejections: z.array(z.object({ address: z.string(), count: z.number().int(), last_at: unixMs })),
  /** Sync-path rejections answered but not stored, per device key (past the per-device cap). */
  unstored_device_rejections: z.array(z.object({ device: z.string(), count: z.number().int(), last_at: unixMs })).default([]),
});
export type AttendanceResponse = z.infer<typeof AttendanceResponseSchema>;

/** `POST /override` (the seed-era accept/reject; `POST /mark` sets any status). */
export const OverrideRequestSchema = z.strictObject({
  session_id: sessionId,
  student_id: studentId,
  status: z.enum(['accepted', 'rejected']),
  note: z.string().max(500).optional(),
});
export type OverrideRequest = z.infer<typeof OverrideRequestSchema>;
export const OverrideResponseSchema = z.object({
  status: z.enum(['accepted', 'rejected']),
  reason: z.string(),
  student_id: z.string(),
  session_id: z.string(),
  decided_at: unixMs,
});
export type OverrideResponse = z.infer<typeof OverrideResponseSchema>;

// ---------------------------------------------------------------- courses

/** Points of each status; null = not counted (neither earned nor possible), as Moodle's excused. */
export const StatusPointsSchema = z.strictObject({
  present: z.number().min(0).max(1000),
  late: z.number().min(0).max(1000),
  excused: z.number().min(0).max(1000).nullable(),
  absent: z.number().min(0).max(1000),
});
export type StatusPoints = z.infer<typeof StatusPointsSchema>;

/**
 * How student ids of a course are compared: always trimmed and in Unicode NFC; `insensitive`
 * also ignores case (`2022imt-048` is `2022IMT-048`). The roster's spelling is the one shown.
 */
export const ID_CASES = ['insensitive', 'sensitive'] as const;

export const CourseSettingsSchema = z.strictObject({
  /** Default `late_after_minutes` of the course's new sessions; null: no late status. */
  late_after_minutes: lateAfterMinutes.nullable(),
  /** Students under this percentage are listed first in the report. */
  threshold_percent: z.number().min(0).max(100),
  points: StatusPointsSchema,
  id_case: z.enum(ID_CASES),
});
export type CourseSettings = z.infer<typeof CourseSettingsSchema>;

/** `POST /course`: creates the course or changes the given settings (others keep their value). */
export const CourseRequestSchema = z.strictObject({
  course: courseName,
  late_after_minutes: CourseSettingsSchema.shape.late_after_minutes.optional(),
  threshold_percent: CourseSettingsSchema.shape.threshold_percent.optional(),
  points: StatusPointsSchema.optional(),
  id_case: CourseSettingsSchema.shape.id_case.optional(),
});
export type CourseRequest = z.infer<typeof CourseRequestSchema>;

export const CourseSummarySchema = z.object({
  course: z.string(),
  settings: CourseSettingsSchema,
  roster_size: z.number().int(),
  session_count: z.number().int(),
});
export type CourseSummary = z.infer<typeof CourseSummarySchema>;
export const CourseResponseSchema = CourseSummarySchema;
export type CourseResponse = CourseSummary;
/** `GET /courses`: every course that has settings, a roster or a session. */
export const CoursesResponseSchema = z.object({ courses: z.array(CourseSummarySchema) });
export type CoursesResponse = z.infer<typeof CoursesResponseSchema>;

// ---------------------------------------------------------------- rosters

/** One student of a course's roster: the id as the roster spells it, and what the file said. */
export const RosterStudentSchema = z.object({
  student_id: z.string(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  section: z.string().nullable(),
});
export type RosterStudent = z.infer<typeof RosterStudentSchema>;

/** `GET /roster?course=<name>`. */
export const RosterResponseSchema = z.object({ course: z.string(), students: z.array(RosterStudentSchema) });
export type RosterResponse = z.infer<typeof RosterResponseSchema>;

/** The seed-era `POST /roster`: replaces the roster with these ids. */
export const RosterRequestSchema = z.strictObject({ course: courseName, student_ids: z.array(studentId).max(10_000) });
export type RosterRequest = z.infer<typeof RosterRequestSchema>;
export const RosterSetResponseSchema = z.object({ course: z.string(), students: z.number().int() });
export type RosterSetResponse = z.infer<typeof RosterSetResponseSchema>;

/** Which CSV column holds what; a field left out is not imported. `student_id` is required. */
export const RosterMappingSchema = z.strictObject({
  student_id: z.string().min(1).max(200),
  name: z.string().max(200).optional(),
  first_name: z.string().max(200).optional(),
  last_name: z.string().max(200).optional(),
  email: z.string().max(200).optional(),
  section: z.string().max(200).optional(),
});
export type RosterMapping = z.infer<typeof RosterMappingSchema>;

/** At most this much CSV text in one import (a roster of thousands is well under it). */
export const MAX_ROSTER_CSV_CHARS = 2_000_000;
export const ROSTER_SOURCES = ['moodle', 'canvas', 'plain'] as const;

/** `POST /roster/preview`: what the file holds and how it would be read, nothing stored. */
export const RosterPreviewRequestSchema = z.strictObject({ course: courseName, csv: z.string().min(1).max(MAX_ROSTER_CSV_CHARS) });
export type RosterPreviewRequest = z.infer<typeof RosterPreviewRequestSchema>;
export const RosterPreviewResponseSchema = z.object({
  course: z.string(),
  /** Which export the header looks like. */
  source: z.enum(ROSTER_SOURCES),
  columns: z.array(z.string()),
  /** The proposed mapping (absent when no column looks like a student id: choose one). */
  mapping: RosterMappingSchema.optional(),
  rows: z.number().int(),
  /** The first rows as the file has them (column → cell). */
  sample: z.array(z.record(z.string(), z.string())),
});
export type RosterPreviewResponse = z.infer<typeof RosterPreviewResponseSchema>;

/** `POST /roster/import`: reads the file with this mapping and updates the roster (never duplicates). */
export const RosterImportRequestSchema = z.strictObject({
  course: courseName,
  csv: z.string().min(1).max(MAX_ROSTER_CSV_CHARS),
  mapping: RosterMappingSchema,
  /** Also remove roster students the file does not list (default false: a partial file only adds and updates). */
  remove_missing: z.boolean().optional(),
});
export type RosterImportRequest = z.infer<typeof RosterImportRequestSchema>;
export const RosterImportResponseSchema = z.object({
  course: z.string(),
  added: z.number().int(),
  updated: z.number().int(),
  unchanged: z.number().int(),
  removed: z.number().int(),
  /** Rows not imported, with the 1-based line of the file and why. */
  skipped: z.array(z.object({ line: z.number().int(), error: z.string() })),
  students: z.number().int(),
});
export type RosterImportResponse = z.infer<typeof RosterImportResponseSchema>;

// ---------------------------------------------------------------- marks, review, audit trail

/** `POST /mark`: a professor sets a student's status in a session, with a note. */
export const MarkRequestSchema = z.strictObject({
  session_id: sessionId,
  student_id: studentId,
  status: AttendanceStatusSchema,
  note: z.string().max(500).optional(),
});
export type MarkRequest = z.infer<typeof MarkRequestSchema>;

/** One change of a student's status: who, when, before, after, note (the audit trail). */
export const StatusChangeSchema = z.object({
  session_id: z.string(),
  student_id: z.string(),
  at: unixMs,
  actor: z.string(),
  /** The status before the change; null when the student had none (a live session, or no roster). */
  before: AttendanceStatusSchema.nullable(),
  after: AttendanceStatusSchema,
  note: z.string().nullable(),
});
export type StatusChange = z.infer<typeof StatusChangeSchema>;
export const MarkResponseSchema = StatusChangeSchema;
export type MarkResponse = StatusChange;

/** Where a student's status comes from. */
export const STATUS_SOURCES = ['scan', 'mark', 'no_scan'] as const;

/** One student in one session, as the session view and the report show them. */
export const StudentStatusSchema = z.object({
  /** The roster's spelling when the student is on it, else the scan's. */
  student_id: z.string(),
  name: z.string().nullable(),
  on_roster: z.boolean(),
  /** null: no status yet (the session has not ended and there is no scan or mark). */
  status: AttendanceStatusSchema.nullable(),
  /** An absence that an offline scan may still turn into present/late (until provisional_until). */
  provisional: z.boolean(),
  source: z.enum(STATUS_SOURCES),
  /** Points this status earns (null: not counted). */
  points: z.number().nullable(),
  /** The accepted scan, when there is one. */
  scan: z
    .object({ decided_at: unixMs, scanned_at: unixMs.nullable(), via: DecisionViaSchema, flags: z.array(ReviewFlagSchema), address: z.string().nullable() })
    .nullable(),
  note: z.string().nullable(),
});
export type StudentStatus = z.infer<typeof StudentStatusSchema>;

/** A flagged acceptance for the professor to confirm or change. */
export const ReviewItemSchema = z.object({
  student_id: z.string(),
  flags: z.array(ReviewFlagSchema),
  decided_at: unixMs,
  via: DecisionViaSchema,
  address: z.string().nullable(),
  status: AttendanceStatusSchema.nullable(),
  /** The professor's last mark of this student after the scan (a confirmation or a change), else null. */
  resolved: StatusChangeSchema.nullable(),
});
export type ReviewItem = z.infer<typeof ReviewItemSchema>;

export const StatusCountsSchema = z.object({
  present: z.number().int(),
  late: z.number().int(),
  excused: z.number().int(),
  absent: z.number().int(),
  /** Students without a status yet (live session). */
  pending: z.number().int(),
  /** Absences still provisional. */
  provisional: z.number().int(),
});
export type StatusCounts = z.infer<typeof StatusCountsSchema>;

/** `GET /statuses/<session_id>`: every roster student (and every scanned one) with a status. */
export const SessionStatusesResponseSchema = z.object({
  session: SessionSchema,
  students: z.array(StudentStatusSchema),
  counts: StatusCountsSchema,
  review: z.array(ReviewItemSchema),
  changes: z.array(StatusChangeSchema),
});
export type SessionStatusesResponse = z.infer<typeof SessionStatusesResponseSchema>;

// ---------------------------------------------------------------- the term report

export const REPORT_FORMATS = ['json', 'csv', 'rejected_csv', 'xlsx', 'moodle', 'canvas'] as const;
export const ReportFormatSchema = z.enum(REPORT_FORMATS);
export type ReportFormat = z.infer<typeof ReportFormatSchema>;

export const ReportSessionSchema = z.object({
  session_id: z.string(),
  starts_at: unixSeconds,
  ends_at: unixSeconds,
  /** The start in the report's time zone, `YYYY-MM-DD HH:mm`. */
  local_start: z.string(),
  /** Some absence of this session is still provisional. */
  provisional: z.boolean(),
});
export type ReportSession = z.infer<typeof ReportSessionSchema>;

export const ReportCellSchema = z.object({
  status: AttendanceStatusSchema.nullable(),
  provisional: z.boolean(),
  points: z.number().nullable(),
});
export type ReportCell = z.infer<typeof ReportCellSchema>;

export const ReportTotalsSchema = z.object({
  present: z.number().int(),
  late: z.number().int(),
  excused: z.number().int(),
  absent: z.number().int(),
  points: z.number(),
  possible: z.number(),
  /** points / possible × 100, rounded to 0.1; null when nothing counted yet. */
  percent: z.number().nullable(),
});
export type ReportTotals = z.infer<typeof ReportTotalsSchema>;

export const ReportStudentSchema = z.object({
  student_id: z.string(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  on_roster: z.boolean(),
  /** One cell per report session, in the order of `sessions`. */
  cells: z.array(ReportCellSchema),
  totals: ReportTotalsSchema,
  below_threshold: z.boolean(),
});
export type ReportStudent = z.infer<typeof ReportStudentSchema>;

/** `GET /report?course=<name>`: students × sessions, those under the threshold first. */
export const ReportResponseSchema = z.object({
  course: z.string(),
  settings: CourseSettingsSchema,
  time_zone: z.string(),
  generated_at: unixMs,
  /** Oldest first. */
  sessions: z.array(ReportSessionSchema),
  students: z.array(ReportStudentSchema),
  /** How many marks are still provisional absences. */
  provisional_marks: z.number().int(),
});
export type ReportResponse = z.infer<typeof ReportResponseSchema>;

/** `GET /student_record?course=<name>&student_id=<id>`: one student's term, session by session. */
export const StudentRecordResponseSchema = z.object({
  course: z.string(),
  student: z.object({ student_id: z.string(), name: z.string().nullable(), email: z.string().nullable(), on_roster: z.boolean() }),
  sessions: z.array(z.object({ session: ReportSessionSchema, status: StudentStatusSchema })),
  totals: ReportTotalsSchema,
  below_threshold: z.boolean(),
  changes: z.array(StatusChangeSchema),
});
export type StudentRecordResponse = z.infer<typeof StudentRecordResponseSchema>;

/** Longest student id a URL query may carry (the schema's limit, in characters). */
export const MAX_QUERY_STUDENT_ID_CHARS = MAX_STUDENT_ID_CHARS;
