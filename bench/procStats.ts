/** CPU seconds, resident memory, event-loop wake-ups and scheduler state of a process, read from /proc (Linux). */
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/<pid>/stat times; 100 on every Linux we run on. */
const CLOCK_TICKS_PER_S = 100;

/** User and system CPU seconds the process (all its threads) has used so far. */
export interface CpuTimes {
  user_s: number;
  system_s: number;
}

/** The fields of /proc/<pid>/stat from the state on (`[0]` is the state, `[11]` utime, `[12]` stime). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

export function cpuTimes(pid: number): CpuTimes {
  const fields = statFields(pid);
  return { user_s: Number(fields[11]) / CLOCK_TICKS_PER_S, system_s: Number(fields[12]) / CLOCK_TICKS_PER_S };
}

/** A process's scheduler state, CPU seconds and kernel wait channel (where a hung process sleeps), as one line. */
export function schedulerState(pid: number | undefined): string {
  if (pid === undefined) return 'no pid';
  let fields: string[];
  try {
    fields = statFields(pid);
  } catch {
    return 'gone';
  }
  let wchan = '?';
  try {
    wchan = readFileSync(`/proc/${pid}/wchan`, 'utf8') || '0';
  } catch {
    // not readable here
  }
  const cpu = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  return `state ${fields[0]}, ${cpu.toFixed(1)} s CPU, wchan ${wchan}`;
}

/**
 * The whole machine's CPU seconds so far, from the first line of /proc/stat: `busy_s` (every
 * state but idle and iowait) and `all_s` (all of them; grows by the number of cores each second).
 */
export function machineCpuSeconds(): { busy_s: number; all_s: number } {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const all = ticks.reduce((a, b) => a + b, 0);
  const idle = ticks[3]! + ticks[4]!;
  return { busy_s: (all - idle) / CLOCK_TICKS_PER_S, all_s: all / CLOCK_TICKS_PER_S };
}

/**
 * CPU seconds of the process's children that exited and were waited for (cutime + cstime): a
 * server that forks workers (PostgreSQL's backends) keeps their time here once they are gone.
 */
export function waitedChildrenCpuSeconds(pid: number): number {
  const fields = statFields(pid);
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_S;
}

/** User + system CPU seconds the process has used so far. */
export function cpuSeconds(pid: number): number {
  const times = cpuTimes(pid);
  return times.user_s + times.system_s;
}

/** A number field of /proc/<pid>/status (`VmRSS:   1234 kB` → 1234), NaN when absent. */
function statusNumber(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : Number.NaN;
}

/** Resident memory now (VmRSS) in KiB. */
export function residentKiB(pid: number): number {
  return statusNumber(pid, 'VmRSS');
}

/** Peak resident set size (VmHWM) in MiB. */
export function peakRssMiB(pid: number): number {
  return statusNumber(pid, 'VmHWM') / 1024;
}

/**
 * Times the process's main thread (a Node server's event loop) went to sleep and was woken
 * (`voluntary_ctxt_switches` of /proc/<pid>/status, which counts that thread only). Each costs
 * the CPU of a wake-up however little it does; per admitted entry, it shows how many times the
 * event loop ran for one.
 */
export function mainThreadWakeups(pid: number): number {
  return statusNumber(pid, 'voluntary_ctxt_switches');
}
