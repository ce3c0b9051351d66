/**
 * Builds the apps (vite build → dist/client) once before the browser tests, if dist is missing
 * or older than any source it is built from. Browser tests drive the production build, so
 * `npm test` on a clean clone builds it by itself. Only the `browser` project has this setup
 * (vitest.config.ts): unit and integration runs never wait for a build.
 *
 * Two runs in one tree (two `npm test` at once) must not build over each other: vite empties
 * dist/client first, so a run serving it would lose its files mid-test. The build is taken
 * under a lock file (dist/.build.lock, made with O_EXCL); a run that finds it waits until it is
 * gone and then finds dist fresh. A lock older than the build's own timeout is a crashed run's
 * and is taken over.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/processes.ts';
import { STUDENT_BUILD_STAMP, formatBundleReport, measureStudentBundle } from '../../client/scripts/bundleSize.ts';

const SOURCES = ['client', 'protocol', 'crypto', 'vite.config.ts', 'package-lock.json'];
const BUILD_TIMEOUT_MS = 300_000;
const LOCK = join(REPO_ROOT, 'dist', '.build.lock');

function newestMtimeMs(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, name)));
  return newest;
}

function isBuildFresh(): boolean {
  const stamp = join(REPO_ROOT, STUDENT_BUILD_STAMP);
  const sourcesMs = Math.max(...SOURCES.map((p) => join(REPO_ROOT, p)).filter(existsSync).map(newestMtimeMs));
  return existsSync(stamp) && statSync(stamp).mtimeMs >= sourcesMs;
}

/** The lock's file descriptor, or undefined while another run holds it. */
function tryLock(): number | undefined {
  try {
    const fd = openSync(LOCK, 'wx');
    writeSync(fd, String(process.pid));
    return fd;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const held = statSync(LOCK, { throwIfNoEntry: false });
    if (held && Date.now() - held.mtimeMs > BUILD_TIMEOUT_MS) unlinkSync(LOCK); // a crashed run's: the next try takes it
    return undefined;
  }
}

export default async function setup(): Promise<void> {
  mkdirSync(join(REPO_ROOT, 'dist'), { recursive: true });
  let fd: number | undefined;
  while (!isBuildFresh() && (fd = tryLock()) === undefined) await new Promise((done) => setTimeout(done, 250));
  if (fd === undefined) return; // fresh, built by us before or by the run that held the lock
  try {
    if (isBuildFresh()) return;
    const build = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: BUILD_TIMEOUT_MS,
    });
    if (build.status !== 0) throw new Error(`vite build failed (exit ${build.status}):\n${build.stderr}\n${build.stdout}`);
    console.log(`built the apps into dist/client. ${formatBundleReport(measureStudentBundle(join(REPO_ROOT, 'dist/client')))}`);
  } finally {
    closeSync(fd);
    unlinkSync(LOCK);
  }
}
