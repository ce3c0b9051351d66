/** The course page's "Recent changes": each audit action (SPEC.md S9) in words. */
import { describe, expect, it } from 'vitest';
import { auditText, shellWord, withoutOverrideMarks } from '../../client/professor/auditText.ts';

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

describe('withoutOverrideMarks', () => {
  const event = (id: number, action: string, at: number, studentId: string, sessionId: string | null = 's1') => ({ id, action, at, session_id: sessionId, detail: { student_id: studentId } });

  it('leaves out the mark an override records with it (newest first), and nothing else', () => {
    const events = [
      event(6, 'mark', 300, 'A'), // a later mark of A by hand: kept
      event(5, 'mark', 200, 'B'), // the mark of B's override
      event(4, 'override_rejected', 200, 'B'),
      event(3, 'mark', 100, 'A'), // same moment as C's override, another student: kept
      event(2, 'override_accepted', 100, 'C'),
      event(1, 'mark', 50, 'D', 's2'), // another session's: kept
      event(0, 'override_accepted', 50, 'D'),
    ];
    expect(withoutOverrideMarks(events).map((kept) => kept.id)).toEqual([6, 4, 3, 2, 1, 0]);
  });
});

describe('shellWord', () => {
  it.each([
    ['Networks 101', "'Networks 101'"],
    ["Prof. O'Neil's \"seminar\" $HOME", `'Prof. O'\\''Neil'\\''s "seminar" $HOME'`],
  ])('%s → %s', (word, quoted) => {
    expect(shellWord(word)).toBe(quoted);
  });

  it('gives back the word through a real shell', async () => {
    const { execFileSync } = await import('node:child_process');
    const word = "Prof. O'Neil's \"seminar\" $HOME `id` \\ end";
    expect(execFileSync('/bin/sh', ['-c', `printf %s ${shellWord(word)}`]).toString()).toBe(word);
  });
});
