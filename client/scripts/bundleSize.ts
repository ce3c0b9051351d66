/**
 * Measures the student app's JavaScript, gzipped, from Vite's build manifest: what a phone
 * downloads on first load (the entry and its static imports), and what it loads lazily (the
 * camera scanner and its worker). Budget: 150 KB gzipped for all of it.
 *
 * Run: node cli/bin/run-ts.js client/scripts/bundleSize.ts  (after `npm run build`)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** The student app's JS budget, gzipped. */
export const STUDENT_JS_BUDGET_BYTES = 150 * 1024;
/** Written last by a build: its age tells whether dist is older than the sources. */
export const STUDENT_BUILD_STAMP = 'dist/client/.vite/manifest.json';
const STUDENT_ENTRY = 'index.html';

interface ManifestChunk {
  file: string;
  imports?: string[];
  dynamicImports?: string[];
}

export interface BundleReport {
  /** Gzipped bytes of the JS loaded when the app opens. */
  initialGzipBytes: number;
  /** Gzipped bytes of JS loaded later (scanner, worker). */
  lazyGzipBytes: number;
  totalGzipBytes: number;
  files: Array<{ file: string; gzipBytes: number; isLazy: boolean }>;
}

export function measureStudentBundle(distDir: string): BundleReport {
  const manifest = JSON.parse(readFileSync(join(distDir, '.vite', 'manifest.json'), 'utf8')) as Record<string, ManifestChunk>;
  const initial = new Set<string>();
  const lazy = new Set<string>();
  const visit = (key: string, isLazy: boolean) => {
    const chunk = manifest[key];
    if (!chunk) return;
    const into = isLazy ? lazy : initial;
    if (initial.has(chunk.file) || into.has(chunk.file)) return;
    into.add(chunk.file);
    for (const next of chunk.imports ?? []) visit(next, isLazy);
    for (const next of chunk.dynamicImports ?? []) visit(next, true);
  };
  if (!manifest[STUDENT_ENTRY]) throw new Error(`no ${STUDENT_ENTRY} entry in the build manifest: run vite build`);
  visit(STUDENT_ENTRY, false);
  for (const file of initial) lazy.delete(file);
  const files = [...initial, ...lazy]
    .filter((file) => file.endsWith('.js'))
    .map((file) => ({ file, gzipBytes: gzipSync(readFileSync(join(distDir, file))).length, isLazy: lazy.has(file) }));
  const sum = (list: typeof files) => list.reduce((total, f) => total + f.gzipBytes, 0);
  const initialGzipBytes = sum(files.filter((f) => !f.isLazy));
  const lazyGzipBytes = sum(files.filter((f) => f.isLazy));
  return { initialGzipBytes, lazyGzipBytes, totalGzipBytes: initialGzipBytes + lazyGzipBytes, files };
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export function formatBundleReport(report: BundleReport): string {
  return (
    `student app JS (gzipped): ${kb(report.initialGzipBytes)} on first load + ${kb(report.lazyGzipBytes)} lazy (camera scanner) = ` +
    `${kb(report.totalGzipBytes)} of the ${kb(STUDENT_JS_BUDGET_BYTES)} budget`
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const report = measureStudentBundle(fileURLToPath(new URL('../../dist/client', import.meta.url)));
  for (const f of report.files) console.log(`  ${f.isLazy ? 'lazy ' : 'first'}  ${kb(f.gzipBytes).padStart(9)}  ${f.file}`);
  console.log(formatBundleReport(report));
  if (report.totalGzipBytes > STUDENT_JS_BUDGET_BYTES) process.exitCode = 1;
}
