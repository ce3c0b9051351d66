import type { SessionInfo } from './api.ts';

/** "12:04" / "1:02:03" left; "0:00" once past. */
export function formatTimeLeft(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export type SessionStatus = 'not started' | 'live' | 'ended';

export function sessionStatus(session: Pick<SessionInfo, 'starts_at' | 'ends_at'>, nowMs: number): SessionStatus {
  if (nowMs >= session.ends_at * 1000) return 'ended';
  if (nowMs < session.starts_at * 1000) return 'not started';
  return 'live';
}

/** "Mon 3 Nov, 10:00" in the laptop's time zone. */
export function formatWhen(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleString([], { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}
