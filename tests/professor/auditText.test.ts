/** The course page's "Recent changes": each audit action (SPEC.md S9) in words. */
import { describe, expect, it } from 'vitest';
import { auditText } from '../../client/professor/auditText.ts';

describe('auditText', () => {
  it.each([
    [{ action: 'create_session', detail: { course: 'Networks' } }, 'Session created'],
    [{ action: 'end_session', detail: {} }, 'Session ended'],
    [{ action: 'delete_session', detail: { session_id: 'x' } }, 'Test session deleted'],
    [{ action: 'session_options', detail: { late_after_minutes: 10, late_after_minutes_before: null } }, 'Late rule: never late → late after 10 min'],
    [{ action: 'session_options', detail: { late_after_minutes: null, late_after_minutes_before: 5 } }, 'Late rule: late after 5 min → never late'],
    [{ action: 'session_options', detail: { direct_path: true } }, 'Direct path opened'],
    [{ action: 'session_options', detail: { direct_path: false } }, 'Direct path closed'],
    [{ action: 'mark', detail: { student_id: 'S-1', before: null, after: 'excused', note: 'doctor’s note' } }, 'S-1: — → Excused — “doctor’s note”'],
    [{ action: 'mark', detail: { student_id: 'S-1', before: 'absent', after: 'present', note: null } }, 'S-1: Absent → Present'],
    [{ action: 'override_accepted', detail: { student_id: 'S-2', note: null } }, 'S-2: accepted by hand'],
    [{ action: 'override_rejected', detail: { student_id: 'S-2', note: 'not in the room' } }, 'S-2: acceptance revoked — “not in the room”'],
    [{ action: 'set_roster', detail: { course: 'Networks', students: 30 } }, 'Roster replaced (30 students)'],
    [{ action: 'import_roster', detail: { course: 'Networks', rows: 31 } }, 'Roster imported (31 rows)'],
    [{ action: 'course_settings', detail: { course: 'Networks', threshold_percent: 60, late_after_minutes: 10 } }, 'Settings changed: threshold percent, late after minutes'],
    [{ action: 'a_future_action', detail: {} }, 'a future action'],
  ])('%j → %s', (event, expected) => {
    expect(auditText(event)).toBe(expected);
  });
});
