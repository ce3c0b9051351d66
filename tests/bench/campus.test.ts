/**
 * A small run of `npm run bench -- --campus` so it cannot rot: PostgreSQL, Redis, three relays
 * behind Caddy, a relay SIGKILLed mid-burst, the SQLite baseline. Correctness only (every
 * student answered, nothing decided twice, the JSON keys the issue names); figures are never
 * asserted: they belong to the bench on a quiet machine.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeInCampus } from '../helpers/campus.ts';
import { removeTempDirs, runNode, tempDir } from '../helpers/processes.ts';

afterAll(() => removeTempDirs());

describeInCampus('npm run bench -- --campus (smoke: 3 sessions × 10 students)', () => {
  it('runs every phase, every student gets a receipt across the SIGKILL, and the JSON has the issue’s keys', async () => {
    const json = join(tempDir('rollcall-campus-bench-'), 'campus.json');
    // least_conn: the default room_hash first waits a minute for the set-up's rooms to unload.
    const run = await runNode(
      ['cli/bin/run-ts.js', 'bench/lectureHall.ts', '--campus', '--sessions', '3', '--students', '10', '--seconds', '2', '--idle-phones', '60', '--lb-policy', 'least_conn', '--json', json],
      { timeoutMs: 280_000 },
    );
    expect(run.stderr).not.toMatch(/Error|failed/);
    expect(run.code).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as Record<string, any>;
    // Every burst's students are accepted: each scans the QR current when its burst starts.
    expect(report).toMatchObject({ students: 30, receipts: 30, accepted: 30, lost: 0, decided_twice: 0 });
    for (const key of ['p99_ms', 'relay_cpu_ratio', 'failover_receipts', 'postgres_statements_per_entry']) expect(typeof report[key], key).toBe('number');
    // Wake-ups of each measured relay's event loop are read from /proc: an entry takes at least one.
    for (const wakeups of [report.relay_wakeups_per_entry, report.sqlite.relay_wakeups_per_entry, report.one_pg_relay.relay_wakeups_per_entry]) expect(wakeups).toBeGreaterThanOrEqual(1);
    expect(report.failover).toMatchObject({ receipts: 30, accepted: 30, lost: 0 });
    // The killed relay is the one with the median number of rooms loaded (of the three sessions).
    expect(report.failover.killed_relay_rooms).toBeGreaterThanOrEqual(1);
    expect(report.failover.killed_relay_rooms).toBeLessThanOrEqual(3);
    expect(report.failover_receipts).toBe(report.failover_phones);
    // By default an answered phone is put away: none reconnects (--answered-phones stay: tests/bench/campusPhone.test.ts).
    expect(report.answered_phones).toBe('leave');
    expect(report.failover.answered_closed).toBe(0);
    expect(report.failover.answered_reconnected).toBe(0);
    // Where the CPU went after the kill: the two survivors (alive, so read), Caddy, the validator,
    // PostgreSQL, Redis and the phone workers (gone once their phones were answered: null).
    const cpu = report.failover.cpu_after_kill;
    expect(cpu.window_ms).toBeGreaterThanOrEqual(2900);
    for (const share of [cpu.machine_busy_share, cpu.machine_busy_share_before]) {
      expect(share).toBeGreaterThan(0);
      expect(share).toBeLessThanOrEqual(1);
    }
    const names = cpu.processes.map((p: { name: string }) => p.name);
    expect(names.filter((name: string) => name.endsWith('(survivor)'))).toHaveLength(2);
    expect(names).toEqual(expect.arrayContaining(['Caddy', 'validator', 'PostgreSQL', 'Redis', 'phone worker 1']));
    for (const p of cpu.processes.filter((p: { name: string }) => p.name.endsWith('(survivor)'))) expect(p.ms).toBeGreaterThanOrEqual(0);
    expect(report.sqlite).toMatchObject({ receipts: 30, lost: 0 });
    // The baseline runs before and after the campus; the ratio is against their mean.
    expect(report.sqlite_before).toMatchObject({ receipts: 30, accepted: 30, lost: 0, decided_twice: 0 });
    expect(report.sqlite_after).toMatchObject({ receipts: 30, accepted: 30, lost: 0, decided_twice: 0 });
    expect(report.sqlite.relay_cpu_ms_per_entry).toBeCloseTo((report.sqlite_before.relay_cpu_ms_per_entry + report.sqlite_after.relay_cpu_ms_per_entry) / 2, 2);
    expect(typeof report.relay_cpu_ratio_against_before).toBe('number');
    expect(typeof report.relay_cpu_ratio_against_after).toBe('number');
    // Phones of the killed relay still waiting for a receipt reconnect: how long that took.
    if (report.failover_phones > 0) expect(report.failover.reopen_p99_ms).toBeGreaterThan(0);
    expect(report.one_pg_relay).toMatchObject({ receipts: 30, accepted: 30, lost: 0, decided_twice: 0 });
    expect(typeof report.one_relay_cpu_ratio).toBe('number');
    expect(report.idle.kib_per_phone).toHaveLength(3);
    // Every side is warmed up first by default, with a burst as large as the measured one.
    expect(report.warmup_students_per_session).toBe(10);
    // R12a: the share of admitted updates no relay had to publish (least_conn spreads a room's phones, so few).
    expect(report.bus_unpublished_share).toBeGreaterThanOrEqual(0);
    expect(report.bus_unpublished_share).toBeLessThanOrEqual(1);
  }, 300_000);
});

it('npm run bench -- --campus refuses a bad option value with exit 2, naming the option and where the usage is, before starting anything', async () => {
  for (const [args, message] of [
    [['--answered-phones', 'maybe'], '--answered-phones must be leave or stay (got "maybe")'],
    [['--lb-policy', 'random'], '--lb-policy must be least_conn, uri_hash or room_hash (got "random")'],
    [['--relays', '1'], '--relays must be a whole number of at least 2 (got "1")'],
  ] as const) {
    const run = await runNode(['cli/bin/run-ts.js', 'bench/lectureHall.ts', '--campus', ...args], { timeoutMs: 30_000 });
    expect(run.code, args.join(' ')).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('Run with --campus --help for usage.');
    expect(run.stdout).not.toContain('PostgreSQL');
  }
}, 60_000);
