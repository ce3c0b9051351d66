/** Pure facts about a session's times, shared by the rules, the API and the statuses. */
import type { SessionRecord } from './types.ts';

/**
 * The instant (Unix ms, exclusive) from which a direct submission is outside the session and the
 * session is no longer live: the moment `end_session` was called, to the millisecond (it used to
 * be rounded up to the next whole second, so a scan 0.7 s after the end was still accepted), else
 * the end of the planned end's whole second.
 */
export function sessionEndMs(session: Pick<SessionRecord, 'endsAtS'> & { endedEarlyAtMs?: number | undefined }): number {
  return session.endedEarlyAtMs ?? (session.endsAtS + 1) * 1000;
}

/** Minutes after the start from which a scan is `late`; null when the session has no late status. */
export function lateAfterMinutes(session: Pick<SessionRecord, 'options'>): number | null {
  const value = session.options.late_after_minutes;
  return typeof value === 'number' ? value : null;
}

/** Until when (Unix ms) an offline scan may still sync, so an absence is provisional. */
export function provisionalUntilMs(session: Pick<SessionRecord, 'endsAtS' | 'lateSyncMinutes'>): number {
  return session.endsAtS * 1000 + session.lateSyncMinutes * 60_000;
}
