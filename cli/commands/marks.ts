/** `rollcall mark`, `rollcall session statuses` and `rollcall audit`: a session's statuses, its review list, its audit trail; the audit log. */
import { AuditLogResponseSchema, MarkResponseSchema, SessionStatusesResponseSchema, type AttendanceStatus } from '../../protocol/index.ts';
import { apiRequest, parseAnswer, type ServerOptions } from '../apiClient.ts';

export async function markStudent(
  options: ServerOptions & { sessionId: string; studentId: string; status: AttendanceStatus; note?: string; json?: boolean },
  print: (line: string) => void = console.log,
): Promise<void> {
  const body = { session_id: options.sessionId, student_id: options.studentId, status: options.status, ...(options.note !== undefined ? { note: options.note } : {}) };
  const change = parseAnswer(await apiRequest(options, 'POST', 'mark', body), MarkResponseSchema, 'marking the student');
  if (options.json) return void print(JSON.stringify(change, null, 2));
  print(`${change.student_id}: ${change.before ?? 'no status'} → ${change.after}${change.note ? ` (${change.note})` : ''}. Kept in the session's audit trail.`);
}

export async function showStatuses(options: ServerOptions & { sessionId: string; json?: boolean }, print: (line: string) => void = console.log): Promise<void> {
  const view = parseAnswer(await apiRequest(options, 'GET', `statuses/${encodeURIComponent(options.sessionId)}`), SessionStatusesResponseSchema, 'reading the statuses');
  if (options.json) return void print(JSON.stringify(view, null, 2));
  const { counts } = view;
  print(`${view.session.course} (${view.session.session_id}): ${counts.present} present, ${counts.late} late, ${counts.excused} excused, ${counts.absent} absent${counts.pending ? `, ${counts.pending} without a status yet` : ''}`);
  const lateAfter = view.session.late_after_minutes;
  print(lateAfter === null ? 'No late rule: every accepted scan is present.' : `Late: scans more than ${lateAfter} min after the start.`);
  if (counts.provisional > 0) print(`${counts.provisional} absences are provisional: an offline scan may still sync until ${new Date(view.session.provisional_until ?? 0).toLocaleString()}.`);
  for (const student of view.students) {
    const how = student.source === 'mark' ? `marked${student.note ? `: ${student.note}` : ''}` : student.scan ? `scan via ${student.scan.via}` : '';
    print(`  ${(student.status ?? '-').padEnd(8)}${student.provisional ? '*' : ' '} ${student.student_id.padEnd(20)} ${student.name ?? ''}  ${how}${student.on_roster ? '' : '  (not on roster)'}`);
  }
  if (view.review.length > 0) print('To review (confirm or change with `rollcall mark`):');
  for (const item of view.review) {
    print(`  ${item.student_id.padEnd(20)} ${item.flags.join(', ')}${item.address ? ` from ${item.address}` : ''}  ${item.resolved ? `resolved: ${item.resolved.after}` : 'open'}`);
  }
  if (view.changes.length > 0) print('Changes:');
  for (const change of view.changes) print(`  ${new Date(change.at).toLocaleString()}  ${change.actor}  ${change.student_id}: ${change.before ?? 'no status'} → ${change.after}${change.note ? ` (${change.note})` : ''}`);
}

/** Characters a terminal acts on or that reorder a line (C0, DEL, C1, bidi controls): printed escaped. */
const UNPRINTABLE = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** A detail value as one word: bare when it is one, else JSON with the unprintable escaped. */
function detailValue(value: unknown): string {
  if (typeof value === 'string' && value !== '' && !/[\s"]/.test(value) && !UNPRINTABLE.test(value)) return value;
  return JSON.stringify(value).replace(new RegExp(UNPRINTABLE, 'gu'), (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One audit event's detail as `key=value` pairs (strings quoted when they hold a space, a quote or a control). */
function detailText(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .map(([key, value]) => `${key}=${detailValue(value)}`)
    .join(' ');
}

/** `rollcall audit`: the validator's audit log (SPEC.md S9), newest first, a page at a time. */
export async function showAuditLog(
  options: ServerOptions & { session?: string; course?: string; limit?: number; before?: number; json?: boolean },
  print: (line: string) => void = console.log,
): Promise<void> {
  const query = new URLSearchParams();
  if (options.session !== undefined) query.set('session_id', options.session);
  if (options.course !== undefined) query.set('course', options.course);
  if (options.limit !== undefined) query.set('limit', String(options.limit));
  if (options.before !== undefined) query.set('before', String(options.before));
  const path = `audit_log${query.size > 0 ? `?${query}` : ''}`;
  const log = parseAnswer(await apiRequest(options, 'GET', path), AuditLogResponseSchema, 'reading the audit log');
  if (options.json) return void print(JSON.stringify(log, null, 2));
  if (log.events.length === 0) return void print('Nothing in the audit log for this filter.');
  for (const event of log.events) {
    print(`${String(event.id).padStart(6)}  ${new Date(event.at).toLocaleString()}  ${event.actor}  ${event.action}${event.session_id ? `  ${event.session_id}` : ''}  ${detailText(event.detail)}`);
  }
  if (log.next_before !== null) print(`Older events: add --before ${log.next_before}`);
}
