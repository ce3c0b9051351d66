/**
 * A session's attendance in the three forms `GET /attendance/<id>` serves: JSON, a plain HTML
 * page a professor can read, and CSV for a spreadsheet.
 */
import { stringify } from 'csv-stringify/sync';
import type { AttendanceResponse, AttendanceRow as ApiAttendanceRow } from '../protocol/index.ts';
import { publicSession } from './sessions.ts';
import type { Decision, SessionRecord } from './types.ts';
import type { UnstoredRejections } from './ValidatorStore.ts';

export type AttendanceRow = ApiAttendanceRow;
export type Attendance = AttendanceResponse;

export function buildAttendance(
  session: SessionRecord,
  decisions: readonly Decision[],
  nowMs: number,
  unstored: readonly UnstoredRejections[] = [],
  unstoredDevices: readonly { deviceKey: string; count: number; lastAtMs: number }[] = [],
): Attendance {
  const row = (decision: Decision): AttendanceRow => ({
    student_id: decision.studentId ?? null,
    decided_at: decision.decidedAtMs,
    flags: decision.flags,
    via: decision.via,
    device: decision.deviceKey ?? null,
    reason: decision.reason,
    ...(decision.note !== undefined && decision.via === 'manual' ? { note: decision.note } : {}),
    address: decision.clientAddress ?? null,
  });
  // A revoked acceptance is represented by the professor's manual rejection row.
  const accepted = decisions.filter((decision) => decision.status === 'accepted' && decision.revokedAtMs === undefined).map(row);
  const rejected = decisions.filter((decision) => decision.status === 'rejected').map(row);
  return {
    session: publicSession(session, nowMs),
    accepted,
    rejected,
    counts: { accepted: accepted.length, rejected: rejected.length, flagged: accepted.filter((entry) => entry.flags.length > 0).length },
    unstored_rejections: unstored.map((entry) => ({ address: entry.clientAddress, count: entry.count, last_at: entry.lastAtMs })),
    unstored_device_rejections: unstoredDevices.map((entry) => ({ device: entry.deviceKey, count: entry.count, last_at: entry.lastAtMs })),
  };
}

/** Spreadsheets run cells that start with these as formulas; student ids are untrusted. */
function csvSafe(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

export function attendanceCsv(attendance: Attendance): string {
  const rows = [...attendance.accepted.map((entry) => ({ ...entry, status: 'accepted' })), ...attendance.rejected.map((entry) => ({ ...entry, status: 'rejected' }))];
  return stringify(
    rows.map((entry) => [
      csvSafe(entry.student_id ?? ''),
      entry.status,
      entry.reason,
      entry.flags.join(' '),
      entry.via,
      new Date(entry.decided_at).toISOString(),
      entry.device ?? '',
      csvSafe(entry.note ?? ''),
      entry.address ?? '',
    ]),
    // `address` was added last, so readers of the older columns by position keep working.
    { header: true, columns: ['student_id', 'status', 'reason', 'flags', 'via', 'decided_at', 'device', 'note', 'address'] },
  );
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function attendanceHtml(attendance: Attendance): string {
  const { session, counts } = attendance;
  const rows = (entries: AttendanceRow[], withReason: boolean) =>
    entries
      .map(
        (entry) =>
          `<tr><td>${escapeHtml(entry.student_id ?? '(unreadable)')}</td><td>${escapeHtml(time(entry.decided_at))}</td>` +
          `<td>${escapeHtml(entry.via)}${entry.address ? ` from ${escapeHtml(entry.address)}` : ''}</td>${withReason ? `<td>${escapeHtml(entry.reason)}</td>` : ''}` +
          `<td>${escapeHtml(entry.flags.join(', '))}</td><td>${escapeHtml(entry.note ?? '')}</td></tr>`,
      )
      .join('\n');
  const id = escapeHtml(session.session_id);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="10">
<title>Attendance: ${escapeHtml(session.course)}</title>
<style>body{font:16px/1.4 system-ui,sans-serif;margin:2rem;max-width:60rem}table{border-collapse:collapse;width:100%;margin-bottom:2rem}
td,th{border-bottom:1px solid #ccc;padding:.3rem .5rem;text-align:left}.flag{color:#a60}</style></head>
<body>
<h1>${escapeHtml(session.course)}</h1>
<p>Session <code>${id}</code>, ${escapeHtml(time(session.starts_at * 1000))} to ${escapeHtml(time(session.ends_at * 1000))}${session.is_live ? ' (live)' : ''}.</p>
<p><strong>${counts.accepted}</strong> accepted (present or late), <strong class="flag">${counts.flagged}</strong> flagged for review, ${counts.rejected} rejected.
<a href="/attendance/${id}.csv">Download CSV</a> · <a href="/qr/${id}.svg">QR code</a></p>
${attendance.unstored_rejections
  .map((entry) => `<p class="flag">${entry.count} more direct submissions from ${escapeHtml(entry.address)} were refused and counted, not stored (over the cap per address).</p>`)
  .join('\n')}
${attendance.unstored_device_rejections
  .map((entry) => `<p class="flag">${entry.count} more scans from device ${escapeHtml(entry.device.slice(0, 8))}… were refused and counted, not stored (over the cap per device).</p>`)
  .join('\n')}
<h2>Accepted</h2>
<table><thead><tr><th>Student</th><th>Decided</th><th>Via</th><th>Flags</th><th>Note</th></tr></thead><tbody>
${rows(attendance.accepted, false)}
</tbody></table>
<h2>Rejected</h2>
<table><thead><tr><th>Student</th><th>Decided</th><th>Via</th><th>Reason</th><th>Flags</th><th>Note</th></tr></thead><tbody>
${rows(attendance.rejected, true)}
</tbody></table>
</body></html>
`;
}
