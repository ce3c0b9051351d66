import type { AttendanceStatus } from '../../protocol/api.ts';

export const STATUS_TEXT: Record<AttendanceStatus, string> = { present: 'Present', late: 'Late', excused: 'Excused', absent: 'Absent' };

export const FLAG_TEXT: Record<string, string> = {
  new_device: 'new device',
  not_on_roster: 'not on roster',
  delayed_sync: 'synced late',
  shared_address: 'shared address',
};

/** "Absent (provisional)", "Present", "—" for no status yet. */
export function statusText(status: AttendanceStatus | null, isProvisional = false): string {
  if (status === null) return '—';
  return `${STATUS_TEXT[status]}${isProvisional ? ' (provisional)' : ''}`;
}

/** Points as the course counts them: "2", "not counted". */
export function pointsText(points: number | null): string {
  return points === null ? 'not counted' : String(points);
}

export function percentText(percent: number | null): string {
  return percent === null ? '—' : `${percent.toFixed(1)} %`;
}
