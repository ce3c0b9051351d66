/**
 * A small run of the lecture-hall benchmark, so it cannot rot: every phase runs against real
 * processes and every student gets a receipt. Correctness only; the figures are never asserted
 * (this machine is shared and noisy: timing belongs in `npm run bench`, not in tests).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, runNode, tempDir } from '../helpers/processes.ts';

afterAll(() => removeTempDirs());

describe('npm run bench (smoke: 40 students)', () => {
  it('runs every phase to the end and every student gets a receipt', async () => {
    const json = join(tempDir('rollcall-bench-'), 'bench.json');
    const run = await runNode(['cli/bin/run-ts.js', 'bench/lectureHall.ts', '--students', '40', '--seconds', '0.5', '--workers', '2', '--alone-entries', '300', '--json', json], { timeoutMs: 170_000 });
    expect(run.stderr).not.toMatch(/Error|failed/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Rollcall lecture-hall benchmark: 40 students/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as Record<string, any>;
    expect(report).toMatchObject({ students: 40, receipts: 40, accepted: 40 });
    for (const key of ['p50_ms', 'p95_ms', 'p99_ms', 'max_ms', 'last_receipt_ms', 'validator_decisions_per_s', 'relay_overhead_ratio', 'doc_bytes', 'bytes_per_student']) {
      expect(typeof report[key], key).toBe('number');
    }
    expect(report.stock.receipts).toBe(40);
    expect(report.relay_echo.receipts).toBe(40);
    expect(report.relay_echo_unfiltered.receipts).toBe(40);
    expect(report.http.accepted).toBe(40);
    expect(report.validator_alone.decisions).toBe(300);
  }, 180_000);
});
