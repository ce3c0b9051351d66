/**
 * SPEC.md F1–F4 on the real system (`rollcall start`: relay and validator in one process): a late
 * scan from `rollcall student` with the QR URL (which carries `rv=2`) gets a receipt v2 that says
 * late, and the terminal prints it; a phone of the previous release (entry v1) still gets exactly
 * the v1 receipt it reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReceiptPlaintextV1Schema, ReceiptPlaintextV2Schema, qrEntryVersion } from '../../protocol/index.ts';
import { createSession } from '../helpers/api.ts';
import { removeTempDirs, runCli, startRollcall, tempDir, type StartedProcess } from '../helpers/processes.ts';
import { connectStudent, type SimulatedStudent } from '../helpers/students.ts';

let server: StartedProcess;
const phones: SimulatedStudent[] = [];

beforeAll(async () => {
  server = await startRollcall(['start', '--data', tempDir('rollcall-late-receipt-')]);
});

afterAll(async () => {
  for (const phone of phones) phone.close();
  await server?.stop();
  removeTempDirs();
});

/** A session that began ten minutes ago, late after two: every scan now is late (S2). */
function lateSession(course: string) {
  const nowS = Math.floor(Date.now() / 1000);
  return createSession(server.baseUrl, { course, starts_at: nowS - 600, duration_minutes: 30, rotate_seconds: 0, late_after_minutes: 2 });
}

describe('present or late in the receipt', () => {
  it('[F3][F4] rollcall student --qr with the QR URL: entry v2, a receipt v2 that says late, "Submission accepted — late"; an on-time scan says nothing late', async () => {
    const late = await lateSession('Late 101');
    const onTime = await createSession(server.baseUrl, { course: 'OnTime 101', duration_minutes: 30, rotate_seconds: 0, late_after_minutes: 5 });
    expect(qrEntryVersion(late.qr_text)).toBe(2); // the validator of this release gives the hint
    const student = ['student', '--student-id', '2022IMT-048', '--server', server.baseUrl, '--data', tempDir('rollcall-late-student-'), '--network', 'online'];
    const run = await runCli([...student, '--qr', late.qr_text, '--qr', onTime.qr_text, '--wait', '60'], { timeoutMs: 90_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\[\+\] Submission accepted — late\. Accepted — late: you are marked late \(scanned after the late limit\)\. latency: \d+\.\d\d s/);
    expect(run.stdout.match(/\[\+\] Submission accepted\. latency: \d+\.\d\d s/g)).toHaveLength(1);
  });

  it('[F2] through the relay, an entry v2 gets a receipt v2 (late); an entry v1 from a phone of the previous release gets exactly a v1 receipt', async () => {
    const session = await lateSession('Mixed 101');
    const newPhone = connectStudent(server.baseUrl, session.session_id, 'M-1');
    const oldPhone = connectStudent(server.baseUrl, session.session_id, 'M-2');
    phones.push(newPhone, oldPhone);
    const scannedAtMs = Date.now();
    const v2 = newPhone.submit(session, { plaintext: { v: 2, student_id: 'M-1', payload_b64: session.payload_b64, signature: session.signature, scanned_at: scannedAtMs } });
    const v1 = oldPhone.submit(session, { scannedAtMs }); // what every phone of the previous release seals
    const [newAnswer, oldAnswer] = await Promise.all([newPhone.receipt(v2.n), oldPhone.receipt(v1.n)]);
    expect(ReceiptPlaintextV2Schema.parse(newAnswer)).toMatchObject({ v: 2, status: 'accepted', student_id: 'M-1', attendance: 'late' });
    // The previous release's schema is the strict v1 one: it must read this receipt.
    expect(ReceiptPlaintextV1Schema.parse(oldAnswer)).toMatchObject({ v: 1, status: 'accepted', reason: 'ok', student_id: 'M-2' });
    expect(oldAnswer).not.toHaveProperty('attendance');
  });
});
