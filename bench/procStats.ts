/** CPU seconds and peak resident memory of a process, read from /proc (Linux). */
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat times; 100 on every Linux we run on. */
const CLOCK_TICKS_PER_S = 100;

/** User and system CPU seconds the process (all its threads) has used so far. */
export interface CpuTimes {
  user_s: number;
  system_s: number;
}

export function cpuTimes(pid: number): CpuTimes {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user_s: Number(fields[11]) / CLOCK_TICKS_PER_S, system_s: Number(fields[12]) / CLOCK_TICKS_PER_S };
}

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const times = cpuTimes(pid);
  return times.user_s + times.system_s;
}

/** Peak resident set size (VmHWM) in MiB. */
export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}
