/**
 * Builds the apps (vite build → dist/client) once before the tests, if dist is missing or
 * older than any source it is built from. Browser tests drive the production build, so
 * `npm test` on a clean clone builds it by itself.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/processes.ts';
import { STUDENT_BUILD_STAMP, formatBundleReport, measureStudentBundle } from '../../client/scripts/bundleSize.ts';

const SOURCES = ['client', 'protocol', 'crypto', 'vite.config.ts', 'package-lock.json'];

function newestMtimeMs(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, name)));
  return newest;
}

export default function setup(): void {
  const stamp = join(REPO_ROOT, STUDENT_BUILD_STAMP);
  const sourcesMs = Math.max(...SOURCES.map((p) => join(REPO_ROOT, p)).filter(existsSync).map(newestMtimeMs));
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= sourcesMs) return;
  const build = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (build.status !== 0) throw new Error(`vite build failed (exit ${build.status}):\n${build.stderr}\n${build.stdout}`);
  console.log(`built the apps into dist/client. ${formatBundleReport(measureStudentBundle(join(REPO_ROOT, 'dist/client')))}`);
}
