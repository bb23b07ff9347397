// The demo: two real PuppetDBs, PuppetDB's sample facts, catalogs and reports loaded
// into the first, one sync pass into the second, and the counts on both servers
// before and after.
//
//   npm run demo [-- --hosts 30]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster, waitForQueueDrained } from './cluster.ts';
import { readSamples } from './samples.ts';

// 7.12.1: the host's own package, no chroot to build first.
const SERVER_VERSIONS = ['7.12.1', '7.12.1'] as const;

const { values } = parseArgs({ options: { hosts: { type: 'string', default: '30' } } });
const hosts = Number(values.hosts);
const DAY_MS = 24 * 3600 * 1000;

async function submit(url: string, command: string, version: number, payload: { certname: string; producer_timestamp: string; [field: string]: unknown }) {
  const params = new URLSearchParams({ command, version: String(version), certname: payload.certname, 'producer-timestamp': payload.producer_timestamp });
  const response = await fetch(`${url}/pdb/cmd/v1?${params}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  if (!response.ok) throw new Error(`${command} ${payload.certname}: HTTP ${response.status} ${await response.text()}`);
}

async function count(url: string, query: unknown): Promise<number> {
  const response = await fetch(`${url}/pdb/query/v4`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  const rows = (await response.json()) as Array<{ count: number }>;
  return rows[0]?.count ?? 0;
}

async function counts(url: string): Promise<Record<string, number>> {
  const any = ['=', 'node_state', 'any'];
  return {
    catalogs: await count(url, ['from', 'catalogs', ['extract', [['function', 'count']], any]]),
    factsets: await count(url, ['from', 'factsets', ['extract', [['function', 'count']], any]]),
    reports: await count(url, ['from', 'reports', ['extract', [['function', 'count']], ['and', any, ['null?', 'type', false]]]]),
    'nodes active': await count(url, ['from', 'nodes', ['extract', [['function', 'count']], ['=', 'node_state', 'active']]]),
    'nodes deactivated': await count(url, ['from', 'nodes', ['extract', [['function', 'count']], ['and', any, ['null?', 'deactivated', false]]]]),
    'package rows': await count(url, ['from', 'package_inventory', ['extract', [['function', 'count']], any]]),
  };
}

function table(title: string, a: Record<string, number>, b: Record<string, number>): void {
  console.log(`\n${title}`);
  console.log(`  ${'entity'.padEnd(20)}${'server A'.padStart(10)}${'server B'.padStart(10)}`);
  for (const key of Object.keys(a)) console.log(`  ${key.padEnd(20)}${String(a[key]).padStart(10)}${String(b[key]).padStart(10)}`);
}

const cluster = await startCluster({ servers: 2, versions: SERVER_VERSIONS, log: (line) => console.log(`[cluster] ${line}`) });
try {
  const [a, b] = cluster.servers.map((server) => server.url) as [string, string];
  console.log(`server A ${a}, server B ${b}`);

  const samples = readSamples('facts');
  const now = Date.now();
  const certname = (i: number) => `host-${String(i).padStart(3, '0')}.example.net`;
  for (let i = 0; i < hosts; i++) {
    const sample = samples[i % samples.length]!;
    await submit(a, 'replace_facts', 5, {
      ...sample,
      certname: certname(i),
      producer: 'puppet.example.net',
      producer_timestamp: new Date(now - (i + 60) * 60_000).toISOString(),
    });
  }
  // A catalog and a report for a third of the hosts: they are the large records.
  const catalogs = readSamples('catalogs');
  const reports = readSamples('reports');
  for (let i = 0; i < Math.ceil(hosts / 3); i++) {
    const at = new Date(now - (i + 60) * 60_000).toISOString();
    const { hash: _hash, ...catalog } = catalogs[i % catalogs.length]!;
    await submit(a, 'replace_catalog', 9, { ...catalog, certname: certname(i), producer_timestamp: at, job_id: null });
    await submit(a, 'store_report', 8, { ...reports[i % reports.length]!, certname: certname(i), producer_timestamp: at, type: 'agent', job_id: null });
  }
  await waitForQueueDrained(a);
  // Two hosts retired an hour ago, and one so long ago that server B's PuppetDB has purged it.
  await submit(a, 'deactivate_node', 3, { certname: certname(0), producer_timestamp: new Date(now - 30 * 60_000).toISOString() });
  await submit(a, 'deactivate_node', 3, { certname: certname(1), producer_timestamp: new Date(now - 30 * 60_000).toISOString() });
  await submit(a, 'replace_facts', 5, { ...samples[0]!, certname: 'retired.example.net', producer_timestamp: new Date(now - 40 * DAY_MS).toISOString() });
  await waitForQueueDrained(a);
  await submit(a, 'deactivate_node', 3, { certname: 'retired.example.net', producer_timestamp: new Date(now - 30 * DAY_MS).toISOString() });
  await waitForQueueDrained(a);

  table('Before the sync', await counts(a), await counts(b));

  const dir = mkdtempSync(join(tmpdir(), 'pdbsync-demo-'));
  const config = join(dir, 'sync.conf');
  writeFileSync(config, `local: { server_url: "${b}" }\nsync: { remotes: [ { server_url: "${a}", interval: 2m } ] }\n`);
  console.log(`\npuppetdb-sync once --config ${config}   (server B pulls from server A)`);
  const cli = new URL('../dist/cli.js', import.meta.url).pathname;
  const run = spawnSync(process.execPath, [cli, 'once', '--config', config], { encoding: 'utf8' });
  for (const line of run.stdout.split('\n').filter(Boolean)) {
    const event = JSON.parse(line) as Record<string, unknown>;
    if (event.phase === 'entity' && event.sync_event !== 'start') {
      console.log(`  ${event.sync_entity}: transferred ${event.transferred}, failed ${event.failed}, ${event.elapsed} ms`);
    }
    if (event.phase === 'sync' && event.sync_event !== 'start') console.log(`  sync ${event.sync_event}, ${event.elapsed} ms`);
  }
  if (run.stderr) console.log(run.stderr);
  await waitForQueueDrained(b);

  table('After one pass (retired.example.net stays out: deactivated longer ago than node-purge-ttl)', await counts(a), await counts(b));
  process.exitCode = run.status ?? 1;
} finally {
  await cluster.stop();
}
