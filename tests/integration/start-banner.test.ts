/**
 * What `rollcall start` and `rollcall validator` say, and refuse, at start (issue 9, "stable
 * student origin"): the banner names everything the process runs and where; a students' URL that
 * is not HTTPS gets a one-line warning saying what phones lose; a busy port fails before any data
 * folder or token is made; split mode needs the relay's public URL for the QR.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logRecords } from '../helpers/logs.ts';
import { removeTempDirs, runCli, startRollcall, tempDir } from '../helpers/processes.ts';

afterAll(removeTempDirs);

describe('rollcall start and validator at start', () => {
  it('the banner says what runs and where, and warns once when students get plain HTTP on a LAN name', async () => {
    const dataDir = tempDir();
    const server = await startRollcall(['start', '--data', dataDir, '--public-url', 'http://rollcall-lan.test:5000']);
    try {
      const out = server.stdout();
      expect(out).toMatch(/validator, relay and both apps in one process/);
      expect(out).toContain('Student app (phones):        http://rollcall-lan.test:5000/');
      expect(out).toMatch(/Dashboard \(this computer\):\s+http:\/\/127\.0\.0\.1:\d+\/professor\//);
      expect(out).not.toMatch(/validator listening/);
      const warnings = logRecords(server.stderr()).filter((record) => record.level === 'warn' && record.msg.startsWith('students open http://rollcall-lan.test:5000/'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toMatch(/no offline app and no in-app camera.*docs\/deploy\.md/);
    } finally {
      await server.stop();
    }
    const secure = await startRollcall(['start', '--data', tempDir(), '--public-url', 'https://rollcall.example.edu']);
    try {
      expect(logRecords(secure.stderr()).some((record) => record.msg.startsWith('students open'))).toBe(false);
    } finally {
      await secure.stop();
    }
  });

  it('a busy port fails in one line and leaves no data folder or admin token behind', async () => {
    const first = await startRollcall(['start', '--data', tempDir()]);
    try {
      const dataDir = join(tempDir(), 'never-made');
      const second = await runCli(['start', '--host', '127.0.0.1', '--port', String(first.port), '--data', dataDir]);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/port \d+ is already in use/);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await first.stop();
    }
  });

  it('split mode refuses to start without the public URL phones open (the relay’s)', async () => {
    const dataDir = join(tempDir(), 'never-made');
    const result = await runCli(['validator', '--host', '127.0.0.1', '--port', '0', '--data', dataDir, '--relay', 'ws://127.0.0.1:9']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/with --relay, pass --public-url/);
    expect(existsSync(dataDir)).toBe(false);
  });
});
