/**
 * The bench's /proc readings that sum processes which come and go: a server's children that
 * exited keep counting (PostgreSQL's backends end when a killed relay's connections do, and the
 * campus bench's CPU after the SIGKILL read negative before), and the machine's busy share.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cpuSeconds, machineCpuSeconds, waitedChildrenCpuSeconds } from '../../bench/procStats.ts';

const isLinux = process.platform === 'linux';

describe.skipIf(!isLinux)('bench/procStats (Linux /proc)', () => {
  it('keeps an exited, waited-for child’s CPU in its parent’s count', () => {
    const before = waitedChildrenCpuSeconds(process.pid);
    // A child that spins for 300 ms of CPU, then exits; spawnSync waits for it.
    const child = spawnSync(process.execPath, ['-e', 'const end = process.cpuUsage().user + 300000; while (process.cpuUsage().user < end);']);
    expect(child.status).toBe(0);
    expect(waitedChildrenCpuSeconds(process.pid) - before).toBeGreaterThanOrEqual(0.25);
  });

  it('reads this process’s CPU and the machine’s busy and total time, both growing', () => {
    const machineBefore = machineCpuSeconds();
    const ownBefore = cpuSeconds(process.pid);
    const end = process.cpuUsage().user + 100_000;
    while (process.cpuUsage().user < end);
    const machineAfter = machineCpuSeconds();
    expect(cpuSeconds(process.pid) - ownBefore).toBeGreaterThanOrEqual(0.05);
    expect(machineAfter.busy_s - machineBefore.busy_s).toBeGreaterThanOrEqual(0.05);
    // Busy is at most all of it; they are equal when every core was busy, and the two
    // differences of large tick counts over 100 may then part in the last bits (0.37999… / 0.38000…).
    expect(machineAfter.all_s - machineBefore.all_s).toBeGreaterThanOrEqual(machineAfter.busy_s - machineBefore.busy_s - 1e-6);
  });
});
