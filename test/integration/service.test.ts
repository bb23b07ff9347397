import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { eventually, freePort, iso, query, startCli, submit, writeConfig, type Sidecar } from './pdb.ts';

const servers = inject('pdbServers');
const [serverA, serverB, serverC] = servers as [string, string, string];
const prefix = `ring-${Date.now().toString(36)}`;
const base = Date.now() - 3600_000;
const name = (suffix: string) => `${prefix}-${suffix}`;

const factset = (suffix: string, at: number, role: string, producer = 'puppet.example.net') => ({
  certname: name(suffix),
  environment: 'production',
  producer_timestamp: iso(at),
  producer,
  values: { role },
});

/** Everything the ring must agree on, for this test's certnames. */
async function stateOf(url: string): Promise<string> {
  const mine = ['and', ['=', 'node_state', 'any'], ['~', 'certname', `^${prefix}-`]];
  const [factsets, nodes, reports] = await Promise.all([
    query(url, ['from', 'factsets', ['extract', ['certname', 'hash', 'producer_timestamp', 'producer'], mine]]),
    query(url, ['from', 'nodes', ['extract', ['certname', 'deactivated'], mine]]),
    query(url, ['from', 'reports', ['extract', ['hash'], ['and', mine, ['null?', 'type', false]]]]),
  ]);
  const sorted = (rows: Record<string, unknown>[]) => rows.map((row) => JSON.stringify(row)).sort();
  return JSON.stringify([sorted(factsets), sorted(nodes), sorted(reports)]);
}

/** The entity/finished lines of every pass that ended, grouped by pass. */
function passes(sidecar: Sidecar): Array<Record<string, number>> {
  const out: Array<Record<string, number>> = [];
  let current: Record<string, number> = {};
  for (const line of sidecar.logs) {
    if (line.phase === 'entity' && line.sync_event !== 'start') current[line.sync_entity as string] = line.transferred as number;
    if (line.phase === 'sync' && line.sync_event !== 'start') {
      out.push(current);
      current = {};
    }
  }
  return out;
}

const quiet = (pass: Record<string, number> | undefined) => pass !== undefined && Object.keys(pass).length === 6 && Object.values(pass).every((n) => n === 0);

describe('run: three real PuppetDBs in a ring (A pulls B, B pulls C, C pulls A)', () => {
  const sidecars: Sidecar[] = [];
  let api: string;
  let configA: string;

  beforeAll(async () => {
    await Promise.all([
      submit(serverA, 'replace_facts', 5, factset('on-a', base, 'a')),
      submit(serverB, 'replace_facts', 5, factset('on-b', base, 'b')),
      submit(serverC, 'replace_facts', 5, factset('on-c', base, 'c')),
      submit(serverA, 'replace_facts', 5, factset('tie', base, 'tie-a')),
      submit(serverC, 'replace_facts', 5, factset('tie', base, 'tie-c', 'puppet-c.example.net')),
      submit(serverB, 'replace_facts', 5, factset('newest-on-b', base + 60_000, 'new')),
      submit(serverC, 'replace_facts', 5, factset('newest-on-b', base, 'old')),
      submit(serverC, 'replace_facts', 5, factset('retired', base, 'gone')),
    ]);
    await Promise.all(servers.map((url) => waitForQueueDrained(url)));
    await submit(serverC, 'deactivate_node', 3, { certname: name('retired'), producer_timestamp: iso(base + 120_000) });
    await waitForQueueDrained(serverC);

    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    configA = writeConfig(serverA, [serverB], '', { interval: '3s', outside: `http: { port: ${port}, startup-grace: 0s }` });
    sidecars.push(startCli(['run', '--config', configA]));
    for (const [local, remote] of [
      [serverB, serverC],
      [serverC, serverA],
    ] as const) {
      sidecars.push(startCli(['run', '--config', writeConfig(local, [remote], '', { interval: '3s', outside: 'http: { port: 0 }' })]));
    }
  });

  afterAll(async () => {
    for (const sidecar of sidecars) sidecar.signal('SIGTERM');
    await Promise.all(sidecars.map((sidecar) => sidecar.exited));
  });

  it('converges and then stays quiet', async () => {
    await eventually(async () => {
      const [a, b, c] = await Promise.all(servers.map(stateOf));
      return a === b && b === c && sidecars.every((sidecar) => quiet(passes(sidecar).at(-1)));
    }, 240_000, 'the three servers hold the same records and every sidecar had a pass that transferred nothing');
    const state = JSON.parse(await stateOf(serverA)) as string[][];
    expect(state[0]).toHaveLength(6);
    expect(state[1]!.some((node) => node.includes(name('retired')) && node.includes(iso(base + 120_000)))).toBe(true);
  });

  it('answers /status, /health and /metrics', async () => {
    const status = (await (await fetch(`${api}/status`)).json()) as { remotes: Array<Record<string, any>> };
    expect(status.remotes).toHaveLength(1);
    expect(status.remotes[0]).toMatchObject({ remote: serverB, lastPass: { ok: true }, consecutiveFailures: 0 });
    expect(status.remotes[0]!.lastPass.entities.map((e: { entity: string }) => e.entity)).toEqual([
      'catalogs',
      'catalog-inputs',
      'factsets',
      'fact-expiration',
      'nodes',
      'reports',
    ]);
    const health = await fetch(`${api}/health`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${api}/metrics`)).text();
    expect(metrics).toContain(`pdbsync_last_sync_succeeded{remote="${serverB}"} 1`);
    expect(metrics).toMatch(/pdbsync_entity_sync_duration_seconds_count\{.*entity="factsets".*\} \d+/);
  });

  it('runs a pass on POST /sync', async () => {
    const before = passes(sidecars[0]!).length;
    const response = await fetch(`${api}/sync?remote=${encodeURIComponent(serverB)}`, { method: 'POST' });
    expect(response.status).toBe(202);
    await eventually(() => passes(sidecars[0]!).length > before, 30_000, 'a pass after POST /sync');
  });

  it('reloads its configuration on SIGHUP', async () => {
    writeFileSync(configA, `local: { server_url: "${serverA}" }\nsync: {\n  remotes: [ { server_url: "${serverB}", interval: 3s }, { server_url: "${serverC}", interval: 3s } ]\n}\nhttp: { port: ${new URL(api).port}, startup-grace: 0s }\n`);
    sidecars[0]!.signal('SIGHUP');
    await eventually(async () => {
      const status = (await (await fetch(`${api}/status`)).json()) as { remotes: unknown[] };
      return status.remotes.length === 2;
    }, 30_000, 'two remotes in /status after SIGHUP');
    expect(sidecars[0]!.logs.some((line) => line.message === 'configuration reloaded')).toBe(true);
  });

  it('stops on SIGTERM with exit status 0', async () => {
    const sidecar = sidecars.pop()!;
    sidecar.signal('SIGTERM');
    expect(await sidecar.exited).toBe(0);
    expect(sidecar.logs.at(-1)).toMatchObject({ message: 'stopped' });
  });
});
