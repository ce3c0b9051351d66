/** `rollcall mark` and `rollcall session statuses`: a session's statuses, its review list and its audit trail. */
import { MarkResponseSchema, SessionStatusesResponseSchema, type AttendanceStatus } from '../../protocol/index.ts';
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
