/** The CLI against a real server: session create/list/end, attendance (text and CSV), tokens, help. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, runCli, startRollcall, tempDir, type StartedProcess } from '../helpers/processes.ts';

let server: StartedProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = tempDir();
  server = await startRollcall(['start', '--data', dataDir]);
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

describe('rollcall CLI', () => {
  it('session create prints the QR JSON and draws the QR; list, attendance and end follow it', async () => {
    const created = await runCli(['session', 'create', '--course', 'Networks', '--duration', '20', '--rotate', '0', '--server', server.baseUrl, '--data', dataDir]);
    expect(created.code).toBe(0);
    const id = /Session ([0-9a-f-]{36}) created/.exec(created.stdout)?.[1];
    expect(id).toBeDefined();
    const qrJson = JSON.parse(created.stdout.split('\n').find((line) => line.startsWith('{"payload_b64"'))!) as { payload_b64: string; signature: string };
    expect(qrJson.signature).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.stdout).toMatch(/[▄▀█]/);

    const submitted = await fetch(`${server.baseUrl}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: '2022IMT-048', ...qrJson }) });
    expect(submitted.status).toBe(200);

    const list = await runCli(['session', 'list', '--server', server.baseUrl]);
    expect(list.stdout).toContain(id!);
    expect(list.stdout).toMatch(/1 present/);

    const text = await runCli(['attendance', id!, '--server', server.baseUrl]);
    expect(text.stdout).toMatch(/accepted\s+2022IMT-048/);
    const csv = await runCli(['attendance', id!, '--csv', '--server', server.baseUrl]);
    expect(csv.stdout.split('\n')[1]).toMatch(/^2022IMT-048,accepted,ok,,direct,/);

    const ended = await runCli(['session', 'end', id!, '--server', server.baseUrl]);
    expect(ended.code).toBe(0);
    expect(ended.stdout).toContain('ended');
  });

  it('session create --json passes every option through', async () => {
    const startsAt = Math.floor(Date.now() / 1000) + 600;
    const created = await runCli(['session', 'create', '--course', 'Networks', '--duration', '30', '--starts-at', String(startsAt), '--rotate', '5', '--skew', '30', '--late-sync', '60', '--json', '--server', server.baseUrl]);
    const session = JSON.parse(created.stdout) as Record<string, number>;
    expect(session).toMatchObject({ starts_at: startsAt, ends_at: startsAt + 1800, rotate_seconds: 5, skew_seconds: 30, late_sync_minutes: 60 });
  });

  it('session create --no-direct-path closes the direct path; session options opens and closes it on a live session', async () => {
    const created = await runCli(['session', 'create', '--course', 'Networks', '--duration', '20', '--rotate', '0', '--no-direct-path', '--json', '--server', server.baseUrl]);
    expect(created.code).toBe(0);
    const session = JSON.parse(created.stdout) as { session_id: string; payload_b64: string; signature: string; direct_path: boolean };
    expect(session.direct_path).toBe(false);
    const submit = async (studentId: string) =>
      (await (await fetch(`${server.baseUrl}/submit_attendance`, { method: 'POST', body: JSON.stringify({ student_id: studentId, payload_b64: session.payload_b64, signature: session.signature }) })).json()) as { reason: string };
    expect((await submit('2022IMT-060')).reason).toBe('direct_path_disabled');
    expect((await runCli(['session', 'list', '--server', server.baseUrl])).stdout).toMatch(new RegExp(`${session.session_id}.*direct path closed`));

    const opened = await runCli(['session', 'options', session.session_id, '--direct-path', '--server', server.baseUrl]);
    expect(opened).toMatchObject({ code: 0 });
    expect(opened.stdout).toMatch(/direct path .* is now open/);
    expect((await submit('2022IMT-060')).reason).toBe('ok');
    expect((await runCli(['session', 'list', '--server', server.baseUrl])).stdout).not.toMatch(new RegExp(`${session.session_id}.*direct path closed`));

    expect((await runCli(['session', 'options', session.session_id, '--no-direct-path', '--server', server.baseUrl])).code).toBe(0);
    expect((await submit('2022IMT-061')).reason).toBe('direct_path_disabled');
    const nothing = await runCli(['session', 'options', session.session_id, '--server', server.baseUrl]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toMatch(/--direct-path .* or --no-direct-path/);
  });

  it('uses the token from --data when the server requires one, and explains a refusal', async () => {
    const dir = tempDir();
    const guarded = await startRollcall(['start', '--data', dir, '--require-token']);
    try {
      const refused = await runCli(['session', 'list', '--server', guarded.baseUrl, '--data', tempDir()], { env: { ROLLCALL_ADMIN_TOKEN: '' } });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/HTTP 403.*admin token/);
      const allowed = await runCli(['session', 'list', '--server', guarded.baseUrl, '--data', dir]);
      expect(allowed.code).toBe(0);
      expect(allowed.stdout).toMatch(/No sessions yet/);
    } finally {
      await guarded.stop();
    }
  });

  it('explains an unreachable server and a bad option in one line, exit code 1', async () => {
    const unreachable = await runCli(['session', 'list', '--server', 'http://127.0.0.1:1']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/cannot reach Rollcall/);
    expect(unreachable.stderr).not.toMatch(/\n\s+at /);
    const bad = await runCli(['session', 'create', '--course', 'X', '--duration', 'soon']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--duration must be a number/);
  });

  it('--help lists every command and the server options', async () => {
    const help = await runCli(['--help']);
    for (const command of ['start', 'validator', 'relay', 'session', 'attendance', 'student']) expect(help.stdout).toContain(command);
    const start = await runCli(['start', '--help']);
    for (const option of ['--port', '--host', '--data', '--public-url', '--require-token']) expect(start.stdout).toContain(option);
    const create = await runCli(['session', 'create', '--help']);
    for (const option of ['--course', '--duration', '--starts-at', '--rotate', '--skew', '--late-sync', '--no-direct-path', '--server', '--token', '--data']) expect(create.stdout).toContain(option);
  });
});
