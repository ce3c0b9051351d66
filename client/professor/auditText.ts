/**
 * One audit event (GET /audit_log, SPEC.md S9) in words for the course page's "Recent changes":
 * what a professor would write in a logbook. An action this dashboard does not know yet is shown
 * by its name, never dropped.
 */
import type { AttendanceStatus, AuditEventView } from '../../protocol/api.ts';
import { STATUS_TEXT, statusText } from './statusText.ts';

const ATTENDANCE: readonly string[] = Object.keys(STATUS_TEXT);

function status(value: unknown): string {
  return value === null ? statusText(null) : typeof value === 'string' && ATTENDANCE.includes(value) ? STATUS_TEXT[value as AttendanceStatus] : String(value);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function minutes(value: unknown): string {
  return value === null || value === undefined ? 'never late' : `late after ${text(value)} min`;
}

function withNote(line: string, note: unknown): string {
  return typeof note === 'string' && note !== '' ? `${line} — “${note}”` : line;
}

export function auditText(event: Pick<AuditEventView, 'action' | 'detail'>): string {
  const d = event.detail;
  switch (event.action) {
    case 'create_session':
      return 'Session created';
    case 'end_session':
      return 'Session ended';
    case 'delete_session':
      return 'Test session deleted';
    case 'session_options':
      if ('late_after_minutes' in d) return `Late rule: ${minutes(d.late_after_minutes_before)} → ${minutes(d.late_after_minutes)}`;
      if ('direct_path' in d) return d.direct_path === true ? 'Direct path opened' : 'Direct path closed';
      return 'Session options changed';
    case 'mark':
      return withNote(`${text(d.student_id)}: ${status(d.before)} → ${status(d.after)}`, d.note);
    case 'override_accepted':
      return withNote(`${text(d.student_id)}: accepted by hand`, d.note);
    case 'override_rejected':
      return withNote(`${text(d.student_id)}: acceptance revoked`, d.note);
    case 'set_roster':
      return `Roster replaced (${text(d.students)} students)`;
    case 'import_roster':
      return `Roster imported (${text(d.rows)} rows)`;
    case 'course_settings': {
      const changed = Object.keys(d).filter((key) => key !== 'course');
      return changed.length > 0 ? `Settings changed: ${changed.join(', ').replaceAll('_', ' ')}` : 'Settings saved';
    }
    default:
      return event.action.replaceAll('_', ' ');
  }
}

/**
 * The events to list: an override (`POST /override`) also records the status mark it means
 * (SPEC.md S4), a second row for one click; that mark is left out when it follows its override.
 * Events are newest first, as `GET /audit_log` gives them.
 */
export function withoutOverrideMarks<T extends Pick<AuditEventView, 'action' | 'session_id' | 'at' | 'detail'>>(events: readonly T[]): T[] {
  return events.filter((event, index) => {
    const older = events[index + 1];
    return !(
      event.action === 'mark' &&
      older !== undefined &&
      older.action.startsWith('override_') &&
      older.session_id === event.session_id &&
      older.detail.student_id === event.detail.student_id &&
      older.at === event.at
    );
  });
}

/** A word for a POSIX shell, in single quotes: a course name may hold spaces, quotes or `$`. */
export function shellWord(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
