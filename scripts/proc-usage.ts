// CPU time and peak memory of processes, read from /proc (Linux): what a pass costs the
// two PuppetDBs and PostgreSQL, not only the sidecar.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Cluster } from './cluster.ts';

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is field 3, state. */
function stat(pid: number | 'self'): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime of `pid` in seconds; with `reaped`, also of its children it has waited for. */
export function cpuSeconds(pid: number | 'self', reaped = false): number {
  const f = stat(pid);
  if (!f) return 0;
  const own = Number(f[11]) + Number(f[12]);
  return (reaped ? own + Number(f[13]) + Number(f[14]) : own) / TICKS_PER_SECOND;
}

/** CPU seconds of the children this process has waited for: a `once` pass's, read around it. */
export function reapedChildrenCpuSeconds(): number {
  const f = stat('self')!;
  return (Number(f[13]) + Number(f[14])) / TICKS_PER_SECOND;
}

/**
 * PostgreSQL's CPU seconds: the postmaster, the backends it has reaped, and the live
 * ones (connections come and go; a gone backend's time moves into the postmaster's).
 */
export function postgresCpuSeconds(postmaster: number): number {
  let total = cpuSeconds(postmaster, true);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = stat(Number(entry));
    if (f && Number(f[1]) === postmaster) total += cpuSeconds(Number(entry));
  }
  return total;
}

/** CPU seconds so far of server A's and B's PuppetDB and of the cluster's PostgreSQL. */
export interface ServerCpu { a: number; b: number; postgres: number }

export function serverCpu(cluster: Cluster): ServerCpu {
  const [a, b] = cluster.servers;
  return { a: cpuSeconds(a!.pid), b: cpuSeconds(b!.pid), postgres: postgresCpuSeconds(cluster.postgres.pid) };
}

export function cpuSince(before: ServerCpu, after: ServerCpu): ServerCpu {
  return { a: after.a - before.a, b: after.b - before.b, postgres: after.postgres - before.postgres };
}

/** Peak resident set of `pid` so far (VmHWM), in bytes. */
export function peakRssBytes(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) * 1024;
}

/** Lowers `pid`'s VmHWM to its current RSS (clear_refs 5, Linux 4.0+); false when not allowed. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
