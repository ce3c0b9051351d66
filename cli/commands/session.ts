/** `rollcall session create|list|end` and `rollcall attendance`: clients of a running server. */
import QRCode from 'qrcode';
import { apiRequest, CliError, expectOk, type ServerOptions } from '../apiClient.ts';

export interface CreateOptions extends ServerOptions {
  course: string;
  duration: number;
  startsAt?: number;
  rotate?: number;
  skew?: number;
  lateSync?: number;
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
  });
  expectOk(answer, 'creating the session');
  const session = answer.json as { session_id: string; payload_b64: string; signature: string; qr_text: string; starts_at: number; ends_at: number; rotate_seconds: number };
  if (options.json) {
    console.log(JSON.stringify(session, null, 2));
    return;
  }
  console.log(`Session ${session.session_id} created for ${options.course}.`);
  console.log(`Open from ${new Date(session.starts_at * 1000).toLocaleString()} to ${new Date(session.ends_at * 1000).toLocaleString()}.`);
  if (options.directPath === false) console.log('Direct path (POST /submit_attendance) closed: students submit through the Rollcall app only.');
  console.log('QR JSON:');
  console.log(JSON.stringify({ payload_b64: session.payload_b64, signature: session.signature }));
  console.log(`QR text: ${session.qr_text}`);
  console.log(await QRCode.toString(session.qr_text, { type: 'terminal', small: true }));
  if (session.rotate_seconds > 0) {
    console.log(`This QR rotates every ${session.rotate_seconds} s: show the live one from ${options.server.replace(/\/+$/, '')}/qr/${session.session_id}.svg`);
  }
}

interface ListedSession {
  session_id: string;
  course: string;
  starts_at: number;
  ends_at: number;
  is_live: boolean;
  /** Absent on servers older than the option: the direct path was always open there. */
  direct_path?: boolean;
  counts: { accepted: number; rejected: number };
}

export async function listSessions(options: ServerOptions & { json?: boolean }): Promise<void> {
  const answer = await apiRequest(options, 'GET', 'sessions');
  expectOk(answer, 'listing sessions');
  const { sessions } = answer.json as { sessions: ListedSession[] };
  if (options.json) return void console.log(JSON.stringify(sessions, null, 2));
  if (sessions.length === 0) return void console.log('No sessions yet. Create one with: rollcall session create --course <name> --duration <minutes>');
  for (const session of sessions) {
    const state = session.is_live ? 'live' : Date.now() < session.starts_at * 1000 ? 'not started' : 'ended';
    const directPath = session.direct_path === false ? '  direct path closed' : '';
    console.log(`${session.session_id}  ${session.course.padEnd(20)}  ${new Date(session.starts_at * 1000).toISOString()}  ${state.padEnd(11)}  ${session.counts.accepted} present, ${session.counts.rejected} rejected${directPath}`);
  }
}

export async function setSessionOptions(options: ServerOptions & { sessionId: string; directPath?: boolean }): Promise<void> {
  if (options.directPath === undefined) throw new CliError('say what to change: --direct-path (open it) or --no-direct-path (close it)');
  const answer = await apiRequest(options, 'POST', 'session_options', { session_id: options.sessionId, direct_path: options.directPath });
  expectOk(answer, 'changing the session');
  console.log(`Session ${options.sessionId}: the direct path (POST /submit_attendance) is now ${options.directPath ? 'open' : 'closed: students submit through the Rollcall app only'}.`);
}

export async function endSession(options: ServerOptions & { sessionId: string }): Promise<void> {
  const answer = await apiRequest(options, 'POST', 'end_session', { session_id: options.sessionId });
  expectOk(answer, 'ending the session');
  const session = answer.json as { already_ended: boolean; ends_at: number };
  console.log(session.already_ended ? `Session ${options.sessionId} had already ended.` : `Session ${options.sessionId} ended at ${new Date(session.ends_at * 1000).toISOString()}.`);
}

interface AttendanceJson {
  session: { course: string; session_id: string };
  accepted: { student_id: string; decided_at: number; flags: string[]; via: string; address?: string | null }[];
  rejected: { student_id: string | null; reason: string; via: string }[];
  counts: { accepted: number; rejected: number; flagged: number };
  unstored_rejections?: { address: string; count: number }[];
  unstored_device_rejections?: { device: string; count: number }[];
}

export async function showAttendance(options: ServerOptions & { sessionId: string; csv?: boolean; json?: boolean }): Promise<void> {
  if (!/^[0-9a-f-]{36}$/.test(options.sessionId)) throw new CliError('the session id should look like 0b6c…-…: see `rollcall session list`');
  if (options.csv) {
    const answer = await apiRequest(options, 'GET', `attendance/${options.sessionId}.csv`, undefined, 'text/csv');
    expectOk(answer, 'reading attendance');
    return void process.stdout.write(answer.text);
  }
  const answer = await apiRequest(options, 'GET', `attendance/${options.sessionId}`);
  expectOk(answer, 'reading attendance');
  if (options.json) return void console.log(JSON.stringify(answer.json, null, 2));
  const attendance = answer.json as AttendanceJson;
  console.log(`${attendance.session.course} (${attendance.session.session_id}): ${attendance.counts.accepted} present, ${attendance.counts.flagged} flagged, ${attendance.counts.rejected} rejected`);
  for (const entry of attendance.accepted) {
    const via = entry.address ? `${entry.via} from ${entry.address}` : entry.via;
    console.log(`  present   ${entry.student_id.padEnd(16)} ${new Date(entry.decided_at).toISOString()}  ${via}${entry.flags.length ? `  flags: ${entry.flags.join(', ')}` : ''}`);
  }
  for (const entry of attendance.rejected) console.log(`  rejected  ${(entry.student_id ?? '(unreadable)').padEnd(16)} ${entry.reason}  ${entry.via}`);
  for (const entry of attendance.unstored_rejections ?? []) {
    console.log(`  + ${entry.count} more direct rejections from ${entry.address}, counted but not stored (over the cap per address)`);
  }
  for (const entry of attendance.unstored_device_rejections ?? []) {
    console.log(`  + ${entry.count} more rejected scans from device ${entry.device.slice(0, 8)}…, counted but not stored (over the cap per device)`);
  }
}
