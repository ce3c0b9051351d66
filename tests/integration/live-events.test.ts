/**
 * `GET /events` on a real `rollcall validator --require-token` process: who may open it (L1), and
 * that what professors and students do arrives as change events (L2), as the dashboard hears it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEvents, type EventReader } from '../helpers/liveEvents.ts';
import { removeTempDirs, startRollcall, tempDir, type StartedProcess } from '../helpers/processes.ts';

let server: StartedProcess;
let token: string;
const readers: EventReader[] = [];

async function professor(path: string, body: unknown): Promise<Record<string, any>> {
  const response = await fetch(server.baseUrl + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return (await response.json()) as Record<string, any>;
}

async function events(headers: Record<string, string>): Promise<EventReader> {
  const reader = await openEvents(`${server.baseUrl}/events`, headers);
  readers.push(reader);
  return reader;
}

beforeAll(async () => {
  server = await startRollcall(['validator', '--data', tempDir(), '--require-token']);
  token = /Admin token[^:]*: (\S+)/.exec(server.stdout())?.[1] ?? '';
});

afterAll(async () => {
  for (const reader of readers) reader.close();
  await server?.stop();
  removeTempDirs();
});

describe('GET /events', () => {
  it('[L1] is a professor route: refused without credentials or with a wrong token, with the code saying what to do', async () => {
    const anonymous = await events({});
    expect(anonymous.status).toBe(403);
    expect(anonymous.refusal?.code).toBe('token_required');
    const wrong = await events({ authorization: 'Bearer not-the-admin-token' });
    expect(wrong.status).toBe(403);
    expect(wrong.refusal?.code).toBe('bad_token');
    expect(server.stdout() + server.stderr()).not.toContain('not-the-admin-token');
  });

  it('[L2] says hello, then a session change when a session is created or ended, and a decisions change when a student submits', async () => {
    const reader = await events({ authorization: `Bearer ${token}` });
    expect(reader.status).toBe(200);
    await reader.next((event) => event.event === 'hello');

    const session = await professor('/create_session', { course: 'Networks', duration_minutes: 20 });
    const isAbout = (kind: string) => (event: { event: string; data: string }) =>
      event.event === 'change' && JSON.parse(event.data).kind === kind && JSON.parse(event.data).session_id === session.session_id;
    await reader.next(isAbout('session'), { message: 'the created session' });

    let from = reader.events.length;
    const submitted = await fetch(`${server.baseUrl}/submit_attendance`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ student_id: '2022IMT-048', payload_b64: session.payload_b64, signature: session.signature }),
    });
    expect(submitted.status).toBe(200);
    await reader.next(isAbout('decisions'), { from, message: 'the accepted scan' });

    from = reader.events.length;
    await professor('/override', { session_id: session.session_id, student_id: '2022IMT-049', status: 'accepted', note: 'came to the office' });
    await reader.next(isAbout('decisions'), { from, message: 'the override' });

    from = reader.events.length;
    await professor('/end_session', { session_id: session.session_id });
    await reader.next(isAbout('session'), { from, message: 'the ended session' });
  });
});
