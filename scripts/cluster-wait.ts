// Waiting for the test cluster's PuppetDBs: until one runs, until its command queue is empty.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterServer } from './cluster.ts';

/**
 * Nine JVMs start at once on 2 cores beside the unit project: 250-270 s each in a
 * quiet CI run, so 300 s failed a run on a machine a little busier.
 */
const START_TIMEOUT_MS = 600_000;

function tail(path: string, lines = 40): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${path})`;
  }
}

export async function waitRunning(s: Pick<ClusterServer, 'name' | 'url' | 'dir'>, child: ChildProcess, since: number, log: (l: string) => void): Promise<void> {
  const logs = () => `--- ${s.dir}/stdout.log\n${tail(join(s.dir, 'stdout.log'))}\n--- puppetdb.log\n${tail(join(s.dir, 'logs', 'puppetdb.log'))}`;
  while (Date.now() - since < START_TIMEOUT_MS) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${s.name} exited (${child.exitCode ?? child.signalCode}) during start-up\n${logs()}`);
    }
    try {
      const res = await fetch(`${s.url}/status/v1/simple`, { signal: AbortSignal.timeout(5_000) });
      if ((await res.text()).trim() === 'running') {
        log(`${s.name} running at ${s.url} after ${((Date.now() - since) / 1000).toFixed(1)} s`);
        return;
      }
    } catch {
      /* not listening yet */
    }
    await sleep(1_000);
  }
  throw new Error(`${s.name} not running after ${START_TIMEOUT_MS / 1000} s\n${logs()}`);
}

export async function waitForQueueDrained(url: string, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let zeros = 0;
  let depth: unknown;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/status/v1/services/puppetdb-status`);
    const body = (await res.json()) as { status?: { queue_depth?: number } };
    depth = body.status?.queue_depth;
    zeros = depth === 0 ? zeros + 1 : 0;
    if (zeros >= 3) {
      // PuppetDB dequeues a command slightly before its transaction commits.
      await sleep(1_000);
      return;
    }
    await sleep(500);
  }
  throw new Error(`${url}: command queue not drained after ${timeoutMs} ms (queue_depth ${String(depth)})`);
}
