/**
 * The precondition of the campus tests (issue 10): redis-server, Caddy and PostgreSQL installed,
 * and a `rollcall relay` that takes `--store` and `--bus`. Without a tool they skip with one line
 * (and throw under CI=true, through each tool's own check); without the options, a part of the
 * system another branch brings, they skip with one line saying so (as describeInChromium's
 * `requirement`).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe } from 'vitest';
import { missingTools } from './https.ts';
import { describeWithPostgres } from './postgres.ts';
import { REPO_ROOT } from './processes.ts';
import { missingRedis } from './redis.ts';

/** Why `rollcall relay` cannot run on PostgreSQL and Redis in this tree, or undefined when it can. */
export function missingStoreAndBusOptions(): string | undefined {
  const help = spawnSync(process.execPath, [join(REPO_ROOT, 'cli/bin/rollcall.js'), 'relay', '--help'], { encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  return /--store\b/.test(help.stdout) && /--bus\b/.test(help.stdout) ? undefined : '`rollcall relay` has no --store/--bus options in this tree yet';
}

/** `describe` for tests that need PostgreSQL, Redis, Caddy and the relay's --store/--bus. */
export function describeInCampus(name: string, body: () => void): void {
  const missing = missingRedis() ?? missingTools(['caddy']) ?? missingStoreAndBusOptions();
  if (missing) {
    console.warn(`SKIPPED "${name}": ${missing}`);
    describe.skip(name, body);
    return;
  }
  describeWithPostgres(name, body);
}
