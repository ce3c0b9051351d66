/** `rollcall session create|list|end` and `rollcall attendance`: clients of a running server. */
import QRCode from 'qrcode';
import { AttendanceResponseSchema, CreateSessionResponseSchema, DeleteSessionResponseSchema, EndSessionResponseSchema, SessionSchema, SessionsResponseSchema } from '../../protocol/index.ts';
import { apiRequest, CliError, expectOk, parseAnswer, type ServerOptions } from '../apiClient.ts';

export interface CreateOptions extends ServerOptions {
  course: string;
  duration: number;
  startsAt?: number;
  rotate?: number;
  skew?: number;
  lateSync?: number;
  /** --late-after: scans this many minutes after the start are `late`. */
  lateAfter?: number;
  /** false with --no-direct-path; only then is the field sent, so older servers keep working. */
  directPath: boolean;
  json?: boolean;
}

export async function createSession(options: CreateOptions): Promise<void> {
  const answer = await apiRequest(options, 'POST', 'create_session', {
    course: options.course,
    duration_minutes: options.duration,
    ...(options.startsAt !== undefined ? { starts_at: options.startsAt } : {}),
    ...(options.rotate !== undefined ? { rotate_seconds: options.rotate } : {}),
    ...(options.skew !== undefined ? { skew_seconds: options.skew } : {}),
    ...(options.lateSync !== undefined ? { late_sync_minutes: options.lateSync } : {}),
    ...(options.directPath === false ? { direct_path: false } : {}),
    ...(options.lateAfter !== undefined ? { late_after_minutes: options.lateAfter } : {}),
  });
  const session = parseAnswer(answer, CreateSessionResponseSchema, 'creating the session');
  if (options.json) {
    console.log(JSON.stringify(session, null, 2));
    return;
  }
  console.log(`Session ${session.session_id} created for ${options.course}.`);
  console.log(`Open from ${new Date(session.starts_at * 1000).toLocaleString()} to ${new Date(session.ends_at * 1000).toLocaleString()}.`);
  if (session.late_after_minutes !== null) console.log(`Scans more than ${session.late_after_minutes} min after the start are marked late.`);
  if (session.warning) console.log(`Warning: ${session.warning}.`);
  if (options.directPath === false) console.log('Direct path (POST /submit_attendance) closed: students submit through the Rollcall app only.');
  console.log('QR JSON:');
  // The seed's QR JSON exactly, without the `rv` hint (SPEC.md F3): scripts post it to
  // POST /submit_attendance, whose body is strict. The hint travels in the QR text below.
  console.log(JSON.stringify({ payload_b64: session.payload_b64, signature: session.signature }));
  console.log(`QR text: ${session.qr_text}`);
  console.log(await QRCode.toString(session.qr_text, { type: 'terminal', small: true }));
  if (session.rotate_seconds > 0) {
    console.log(`This QR rotates every ${session.rotate_seconds} s: show the live one from ${options.server.replace(/\/+$/, '')}/qr/${session.session_id}.svg`);
  }
}

export async function listSessions(options: ServerOptions & { json?: boolean; course?: string }): Promise<void> {
  const answer = await apiRequest(options, 'GET', options.course !== undefined ? `sessions?course=${encodeURIComponent(options.course)}` : 'sessions');
  const { sessions } = parseAnswer(answer, SessionsResponseSchema, 'listing sessions');
  if (options.json) return void console.log(JSON.stringify(sessions, null, 2));
  if (sessions.length === 0) return void console.log('No sessions yet. Create one with: rollcall session create --course <name> --duration <minutes>');
  for (const session of sessions) {
    const state = session.is_live ? 'live' : Date.now() < session.starts_at * 1000 ? 'not started' : 'ended';
    const directPath = session.direct_path === false ? '  direct path closed' : '';
    const { counts } = session;
    console.log(
      `${session.session_id}  ${session.course.padEnd(20)}  ${new Date(session.starts_at * 1000).toLocaleString()}  ${state.padEnd(11)}  ` +
        `${counts.present} present, ${counts.late} late, ${counts.excused} excused, ${counts.absent} absent (${counts.accepted} scans accepted, ${counts.rejected} rejected)${directPath}`,
    );
  }
}

/** `rollcall session options|set <id>`: only the options given are sent, so the others keep their value. */
export async function setSessionOptions(options: ServerOptions & { sessionId: string; directPath?: boolean; lateAfter?: number | null }): Promise<void> {
  if (options.directPath === undefined && options.lateAfter === undefined) {
    throw new CliError('say what to change: --late-after <minutes> (or none), --direct-path (open it) or --no-direct-path (close it)');
  }
  const answer = await apiRequest(options, 'POST', 'session_options', {
    session_id: options.sessionId,
    ...(options.directPath !== undefined ? { direct_path: options.directPath } : {}),
    ...(options.lateAfter !== undefined ? { late_after_minutes: options.lateAfter } : {}),
  });
  const session = parseAnswer(answer, SessionSchema, 'changing the session');
  if (options.directPath !== undefined) {
    console.log(`Session ${options.sessionId}: the direct path (POST /submit_attendance) is now ${options.directPath ? 'open' : 'closed: students submit through the Rollcall app only'}.`);
  }
  if (options.lateAfter !== undefined) {
    const rule = session.late_after_minutes === null ? 'no scan counts as late' : `scans more than ${session.late_after_minutes} min after the start count as late`;
    console.log(`Session ${options.sessionId}: ${rule}; statuses follow at once (see rollcall session statuses ${options.sessionId}).`);
  }
}

export async function endSession(options: ServerOptions & { sessionId: string }): Promise<void> {
  const answer = await apiRequest(options, 'POST', 'end_session', { session_id: options.sessionId });
  const session = parseAnswer(answer, EndSessionResponseSchema, 'ending the session');
  console.log(session.already_ended ? `Session ${options.sessionId} had already ended.` : `Session ${options.sessionId} ended at ${new Date(session.ends_at * 1000).toISOString()}.`);
}

export async function showAttendance(options: ServerOptions & { sessionId: string; csv?: boolean; json?: boolean }): Promise<void> {
  if (!/^[0-9a-f-]{36}$/.test(options.sessionId)) throw new CliError('the session id should look like 0b6c…-…: see `rollcall session list`');
  if (options.csv) {
    const answer = await apiRequest(options, 'GET', `attendance/${options.sessionId}.csv`, undefined, 'text/csv');
    expectOk(answer, 'reading attendance');
    return void process.stdout.write(answer.text);
  }
  const answer = await apiRequest(options, 'GET', `attendance/${options.sessionId}`);
  const attendance = parseAnswer(answer, AttendanceResponseSchema, 'reading attendance');
  if (options.json) return void console.log(JSON.stringify(answer.json, null, 2));
  console.log(`${attendance.session.course} (${attendance.session.session_id}): ${attendance.counts.accepted} accepted (present or late), ${attendance.counts.flagged} flagged, ${attendance.counts.rejected} rejected`);
  for (const entry of attendance.accepted) {
    const via = entry.address ? `${entry.via} from ${entry.address}` : entry.via;
    console.log(`  accepted  ${(entry.student_id ?? '').padEnd(16)} ${new Date(entry.decided_at).toISOString()}  ${via}${entry.flags.length ? `  flags: ${entry.flags.join(', ')}` : ''}`);
  }
  for (const entry of attendance.rejected) console.log(`  rejected  ${(entry.student_id ?? '(unreadable)').padEnd(16)} ${entry.reason}  ${entry.via}`);
  for (const entry of attendance.unstored_rejections) {
    console.log(`  + ${entry.count} more direct rejections from ${entry.address}, counted but not stored (over the cap per address)`);
  }
  for (const entry of attendance.unstored_device_rejections) {
    console.log(`  + ${entry.count} more rejected scans from device ${entry.device.slice(0, 8)}…, counted but not stored (over the cap per device)`);
  }
}

/** Deletes a session without any accepted scan (a test session); the server refuses one that holds attendance. */
export async function deleteSession(options: ServerOptions & { sessionId: string }): Promise<void> {
  const answer = await apiRequest(options, 'POST', 'delete_session', { session_id: options.sessionId });
  const deleted = parseAnswer(answer, DeleteSessionResponseSchema, 'deleting the session');
  console.log(`Session ${deleted.session_id} deleted${deleted.rejections_deleted ? ` with its ${deleted.rejections_deleted} rejected submissions` : ''}.`);
}
