/**
 * Processes as /proc shows them (Linux), for tests that must prove what a run left behind: the
 * descendants of a process, a PostgreSQL server found by its port, and whether a process seen
 * earlier is gone (its pid reused by another process, or a zombie, counts as gone).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

export interface ProcessSeen {
  pid: number;
  ppid: number;
  /** Start time in clock ticks since boot: tells a process from a later one with its pid. */
  startTicks: string;
  state: string;
  /** argv joined by spaces */
  cmdline: string;
}

function readProcess(pid: number): ProcessSeen | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), state: fields[0] ?? '?', startTicks: fields[19] ?? '', cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim() };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Every process now. */
export function processTable(): ProcessSeen[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProcess(Number(name)))
    .filter((entry) => entry !== undefined);
}

/** Children, grandchildren… of `pid`, in `table`. */
export function descendantsOf(pid: number, table: readonly ProcessSeen[] = processTable()): ProcessSeen[] {
  const found: ProcessSeen[] = [];
  const parents = [pid];
  for (let parent = parents.pop(); parent !== undefined; parent = parents.pop()) {
    for (const entry of table.filter((candidate) => candidate.ppid === parent)) {
      found.push(entry);
      parents.push(entry.pid);
    }
  }
  return found;
}

/** A PostgreSQL server listening on `port` (started with `-p <port>`) and its backends, postmaster first. */
export function postgresOnPort(port: number, table: readonly ProcessSeen[] = processTable()): ProcessSeen[] {
  const isOurs = (entry: ProcessSeen) => /\bpostgres\b/.test(entry.cmdline) && entry.cmdline.includes(`-p ${port}`);
  const postmaster = table.find((entry) => isOurs(entry) && !table.some((other) => other.pid === entry.ppid && isOurs(other)));
  return postmaster ? [postmaster, ...descendantsOf(postmaster.pid, table)] : [];
}

/** True once `seen` has exited (a zombie waiting for its parent has exited too). */
export function isGone(seen: ProcessSeen): boolean {
  const now = readProcess(seen.pid);
  return now === undefined || now.startTicks !== seen.startTicks || now.state === 'Z';
}

/** True when nothing accepts a TCP connection on 127.0.0.1:`port`. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}
