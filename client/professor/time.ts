import type { SessionInfo } from './api.ts';

/** "12:04" / "1:02:03" left; "0:00" once past. */
export function formatTimeLeft(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export function sessionStatus(session: Pick<SessionInfo, 'starts_at' | 'ends_at' | 'ended_at' | 'status'>, nowMs: number): string {
  if (session.status) return session.status;
  const endsMs = (session.ended_at ?? session.ends_at) * 1000;
  if (nowMs >= endsMs) return 'ended';
  if (nowMs < session.starts_at * 1000) return 'not started';
  return 'live';
}
