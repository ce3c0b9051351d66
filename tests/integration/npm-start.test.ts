/**
 * `npm start` under a service manager (docs/deploy.md): the manager signals the process it
 * started, npm, which forwards SIGTERM to its script. The script `exec`s node, so the signal
 * reaches `rollcall start` itself (with a shell in between, dash died of it and left Rollcall
 * running without its parent, its WAL files unmerged). Checked by /proc, the data folder and
 * the log, not by timing.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createSession, submitFrom } from '../helpers/api.ts';
import { descendantsOf, isGone, type ProcessSeen } from '../helpers/procTable.ts';
import { PORT, removeTempDirs, startExecutable, tempDir, type StartedProcess } from '../helpers/processes.ts';
import { readValidatorStore } from '../helpers/validatorStore.ts';

let npm: StartedProcess | undefined;
let rollcall: ProcessSeen | undefined;

afterAll(async () => {
  await npm?.stop();
  // Should the test fail with Rollcall orphaned, stop it by its pid (never by name).
  if (rollcall && !isGone(rollcall)) process.kill(rollcall.pid, 'SIGTERM');
  removeTempDirs();
});

it('SIGTERM to `npm start` reaches rollcall start, which stops cleanly: it exits, its data is stored and its SQLite WAL merged', async () => {
  const dataDir = tempDir('rollcall-npm-start-');
  npm = await startExecutable('npm', ['start', '--', '--port', PORT, '--host', '127.0.0.1', '--data', dataDir]);
  const session = await createSession(npm.baseUrl, { course: 'Operations', duration_minutes: 20 });
  expect(await submitFrom(npm.baseUrl, '127.0.0.2', 'NPM-1', session)).toMatchObject({ status: 200, body: { status: 'accepted' } });
  // While it runs, the databases are in WAL mode with their -wal files beside them.
  expect(readdirSync(dataDir).filter((name) => name.endsWith('-wal')).length).toBeGreaterThan(0);

  // No shell between npm and node: node is npm's own child.
  const children = descendantsOf(npm.child.pid!);
  rollcall = children.find((seen) => /^node cli\/bin\/rollcall\.js start /.test(seen.cmdline));
  expect(children.map((seen) => seen.cmdline)).toEqual([expect.stringMatching(/^node cli\/bin\/rollcall\.js start /)]);
  expect(rollcall!.ppid).toBe(npm.child.pid);

  npm.child.kill('SIGTERM'); // to npm only, as a service manager stopping its main process does
  expect(await npm.exited).toBe(0);
  expect(isGone(rollcall!)).toBe(true);
  expect(npm.stderr()).toMatch(/"signal":"SIGTERM","msg":"stopping"/);
  expect(npm.stderr()).toMatch(/"msg":"stopped"/);
  // A clean close of the last connection merges each WAL into its database and removes it.
  for (const name of ['validator.db', 'relay.db', 'relay-trust.db']) expect(existsSync(join(dataDir, `${name}-wal`)), `${name}-wal`).toBe(false);
  expect(readValidatorStore(dataDir, (store) => store.countDecisions(session.session_id).decisions)).toBe(1);
});
