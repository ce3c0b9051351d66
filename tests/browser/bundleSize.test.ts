import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/processes.ts';
import { STUDENT_JS_BUDGET_BYTES, formatBundleReport, measureStudentBundle } from '../../client/scripts/bundleSize.ts';

describe('student app bundle (production build)', () => {
  it('keeps all of its JavaScript, camera scanner included, within 150 KB gzipped', () => {
    const report = measureStudentBundle(join(REPO_ROOT, 'dist/client'));
    console.log(formatBundleReport(report));
    expect(report.initialGzipBytes).toBeGreaterThan(0);
    expect(report.totalGzipBytes).toBeLessThanOrEqual(STUDENT_JS_BUDGET_BYTES);
  });

  it('loads the QR scanner and its worker only when scanning (lazy chunks)', () => {
    const report = measureStudentBundle(join(REPO_ROOT, 'dist/client'));
    const scanner = report.files.filter((f) => /qr-scanner/.test(f.file));
    expect(scanner.length).toBeGreaterThanOrEqual(2);
    expect(scanner.every((f) => f.isLazy)).toBe(true);
  });
});
