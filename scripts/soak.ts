// Soak: many passes under `run` against servers in step, sampling the sidecar's RSS,
// heap and open handles from its own /metrics, to show they stay flat. Not part of
// `npm test` (minutes, and a cluster of its own unless --servers is given).
//
//   node scripts/soak.ts [--passes 500] [--interval 100ms] [--reconcile-interval 30s] [--hosts 50] [--servers URL_A,URL_B]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { CLI, CLI_ENV, CLI_FLAGS } from './bench-cli.ts';
import { drainedAt, feed, hostRecords } from './bench-pdb.ts';
import { startCluster, type Cluster } from './cluster.ts';

// 7.12.1, as the figures in docs/operations.md were measured on it.
const SERVER_VERSIONS = ['7.12.1', '7.12.1'] as const;

const { values: args } = parseArgs({
  options: {
    passes: { type: 'string', default: '500' },
    interval: { type: 'string', default: '100ms' },
    'reconcile-interval': { type: 'string', default: '30s' },
    hosts: { type: 'string', default: '50' },
    servers: { type: 'string' },
  },
});
const PASSES = Number(args.passes);
const SAMPLES = 10;

interface Sample { passes: number; rssBytes: number; heapUsedBytes: number; handles: number; seconds: number }

/** The sum of a metric's samples in the Prometheus text, every label set: nodejs_active_handles is one per handle type. */
function metric(text: string, name: string): number {
  const lines = text.split('\n').filter((l) => new RegExp(`^${name}(\\{[^}]*\\})? `).test(l));
  if (lines.length === 0) throw new Error(`no ${name} in /metrics`);
  return lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

function passCount(text: string): number {
  return text.split('\n').filter((l) => /sync_duration_seconds_count\{/.test(l)).reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

const started = Date.now();
let cluster: Cluster | undefined;
const work = mkdtempSync(join(tmpdir(), 'pdbsync-soak-'));
try {
  let servers = args.servers?.split(',');
  if (!servers) {
    cluster = await startCluster({ servers: 2, versions: SERVER_VERSIONS, log: (line) => console.error(`[cluster] ${line}`) });
    servers = cluster.servers.map((s) => s.url);
  }
  const [a, b] = servers as [string, string];
  const base = Date.now() - 3600_000;
  const commands = [];
  for (let i = 0; i < Number(args.hosts); i++) commands.push(...hostRecords(i, base + i * 1000, 0));
  await feed(a, commands);
  await drainedAt(a);

  const port = 18_000 + Math.floor(Math.random() * 2_000);
  const config = join(work, 'sync.conf');
  writeFileSync(
    config,
    `local: { server_url: "${b}" }\nsync: { remotes: [ { server_url: "${a}", interval: ${args.interval} } ], reconcile-interval: ${args['reconcile-interval']}, jitter-percent: 0 }\nhttp: { port: ${port} }\nlog: { level: warn }\n`,
  );
  const sidecar = spawn(process.execPath, [...CLI_FLAGS, CLI, 'run', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'], env: CLI_ENV });
  const samples: Sample[] = [];
  const every = Math.max(1, Math.floor(PASSES / SAMPLES));
  for (let next = every; samples.length < SAMPLES; ) {
    await sleep(500);
    const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '');
    if (text === '' || passCount(text) < next) continue;
    samples.push({
      passes: passCount(text),
      rssBytes: metric(text, 'process_resident_memory_bytes'),
      heapUsedBytes: metric(text, 'nodejs_heap_size_used_bytes'),
      handles: metric(text, 'nodejs_active_handles'),
      seconds: (Date.now() - started) / 1000,
    });
    console.error(`passes ${samples.at(-1)!.passes}: RSS ${(samples.at(-1)!.rssBytes / 1e6).toFixed(1)} MB`);
    next += every;
  }
  sidecar.kill('SIGTERM');
  await new Promise((resolve) => sidecar.once('exit', resolve));
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  console.log('| Passes | RSS (MB) | Heap used (MB) | Active handles |');
  console.log('| ---: | ---: | ---: | ---: |');
  for (const s of samples) console.log(`| ${s.passes} | ${mb(s.rssBytes)} | ${mb(s.heapUsedBytes)} | ${s.handles} |`);
  const [first, last] = [samples[0]!, samples.at(-1)!];
  console.log(`\nFrom pass ${first.passes} to ${last.passes}: RSS ${mb(last.rssBytes - first.rssBytes)} MB, heap ${mb(last.heapUsedBytes - first.heapUsedBytes)} MB, handles ${last.handles - first.handles}.`);
} finally {
  await cluster?.stop();
  rmSync(work, { recursive: true, force: true });
}
