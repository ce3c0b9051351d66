/**
 * `rollcall student`, the terminal student client, on the real system: submissions queued
 * offline survive the process exiting, sync on the next online run, and each gets a receipt;
 * nothing reaches the validator twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qrUrl } from '../../protocol/index.ts';
import { createSession as createApiSession } from '../helpers/api.ts';
import { removeTempDirs, runCli, startRollcall, tempDir, type StartedProcess } from '../helpers/processes.ts';
import { readValidatorStore } from '../helpers/validatorStore.ts';

let server: StartedProcess;
let dataDir: string;

beforeAll(async () => {
  dataDir = tempDir('rollcall-student-server-');
  server = await startRollcall(['start', '--data', dataDir]);
});

afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

function createSession(course: string) {
  return createApiSession(server.baseUrl, { course, duration_minutes: 30, rotate_seconds: 0 });
}

function syncDecisionCount(): number {
  return readValidatorStore(dataDir, (store) => store.listSessions().flatMap((session) => store.decisionsForSession(session.id)).filter((decision) => decision.via === 'sync').length);
}

describe('rollcall student', () => {
  it('queues three submissions offline, exits, and on the next online run all three get receipts, once', async () => {
    const sessions = await Promise.all(['Networks', 'Databases', 'Compilers'].map(createSession));
    const studentDir = tempDir('rollcall-student-');
    const base = ['student', '--student-id', '2022IMT-048', '--server', server.baseUrl, '--data', studentDir];
    // Three ways the QR reaches the terminal: the seed's JSON, the QR link, the bare pair.
    const qrs = [
      JSON.stringify({ payload_b64: sessions[0]!.payload_b64, signature: sessions[0]!.signature }),
      qrUrl('https://rollcall.example', sessions[1]!),
      `${sessions[2]!.payload_b64}.${sessions[2]!.signature}`,
    ];

    const offline = await runCli([...base, '--network', 'offline', ...qrs.flatMap((q) => ['--qr', q]), '--wait', '0']);
    expect(offline.code).toBe(0);
    expect(offline.stdout.match(/Saved on this device/g)).toHaveLength(3);
    expect(offline.stdout).toContain('3 submission(s) saved on this device');
    expect(syncDecisionCount()).toBe(0);

    const online = await runCli([...base, '--network', 'online', '--wait', '60'], { timeoutMs: 90_000 });
    expect(online.stderr).toBe('');
    expect(online.code).toBe(0);
    expect(online.stdout).toContain('Resuming 3 pending submission(s)');
    expect(online.stdout.match(/\[\+\] Submission accepted\. latency: \d+\.\d\d s/g)).toHaveLength(3);
    expect(syncDecisionCount()).toBe(3);

    const again = await runCli([...base, '--network', 'online', '--wait', '3']);
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('Submission accepted');
    expect(syncDecisionCount()).toBe(3);

    const page = (await (await fetch(`${server.baseUrl}/attendance/${sessions[1]!.session_id}`, { headers: { accept: 'application/json' } })).json()) as { accepted: { student_id: string }[] };
    expect(page.accepted.map((a) => a.student_id)).toEqual(['2022IMT-048']);
  });

  it('[C7] a second device of the same student is answered duplicate and the run exits 2; the same QR twice on one device is sent once; a bad paste changes nothing', async () => {
    const session = await createSession('Algorithms');
    const qr = JSON.stringify({ payload_b64: session.payload_b64, signature: session.signature });
    const online = (studentDir: string) => ['student', '--student-id', '2022IMT-049', '--server', server.baseUrl, '--data', studentDir, '--network', 'online'];
    const before = syncDecisionCount();
    const first = await runCli([...online(tempDir('rollcall-student-')), '--qr', qr, '--qr', qr, '--qr', 'not a qr code', '--wait', '60'], { timeoutMs: 90_000 });
    expect(first.stdout).toContain('[!] Not submitted: This is not a Rollcall QR code (expected the app link or the QR JSON). Scan the code shown by your professor.');
    expect(first.stdout).toContain('[=] Already submitted from this device');
    expect(first.stdout.match(/\[\+\] Submission accepted/g)).toHaveLength(1);
    expect(first.code).toBe(2); // the bad paste was not submitted
    expect(syncDecisionCount()).toBe(before + 1);

    const otherDevice = await runCli([...online(tempDir('rollcall-student-')), '--qr', qr, '--wait', '60'], { timeoutMs: 90_000 });
    expect(otherDevice.stdout).toContain('[-] Submission rejected: duplicate. You are already marked present in this session.');
    expect(otherDevice.code).toBe(2);
  });

  it('[C7] with the relay unreachable the scan stays saved, the run says so and exits 3', async () => {
    const session = await createSession('Unreachable');
    const qr = JSON.stringify({ payload_b64: session.payload_b64, signature: session.signature });
    const run = await runCli(['student', '--student-id', '2022IMT-052', '--server', 'http://127.0.0.1:9', '--data', tempDir('rollcall-student-'), '--qr', qr, '--wait', '1']);
    expect(run.stdout).toContain('[*] Saved on this device: Unreachable');
    expect(run.stdout).toContain('cannot reach the relay at http://127.0.0.1:9');
    expect(run.code).toBe(3);
  });
});
