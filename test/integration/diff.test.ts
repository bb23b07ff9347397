import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import { createLogger } from '../../src/log.ts';
import { collectedLog } from '../log-check.ts';
import { divergenceExitCode, formatDivergenceTable } from '../../src/sync/divergence-report.ts';
import { measureDivergence, type DivergenceReport } from '../../src/sync/divergence.ts';
import { ENTITIES } from '../../src/wiring.ts';
import { DAY_MS, iso, plainReport, submit, syncInto, writeConfig } from './pdb.ts';

const [serverA, serverB] = inject('pdbServers') as [string, string];
const prefix = `dv-${Date.now().toString(36)}`;
const base = Date.now() - 3600_000;
const { log } = collectedLog('error');

function factset(name: string, at: number, values: Record<string, unknown>, producer = 'puppet-a.example.net') {
  return {
    certname: `${prefix}-${name}`,
    environment: 'production',
    producer_timestamp: iso(at),
    producer,
    values: { os: { family: 'Debian' }, ...values },
    package_inventory: [['bash', '5.2.15', 'apt']],
  };
}

function report(name: string, at: number) {
  return plainReport(`${prefix}-${name}`, at, name);
}

/** A config pulling from `remote` into `local`, read as the CLI reads one. */
function configInto(local: string, remote: string): Promise<Config> {
  return parseConfig(`local: { server_url: "${local}" }\nsync: { remotes: [ { server_url: "${remote}", interval: 2m } ] }\n`, 'diff-test.conf');
}

type Counts = Record<string, { missing: number; older: number; tied: number }>;

/** The counts by entity of the only remote; fails on an entity that could not be measured. */
function countsOf(report: DivergenceReport): Counts {
  expect(report.remotes).toHaveLength(1);
  const out: Counts = {};
  for (const entity of report.remotes[0]!.entities) {
    if ('error' in entity) throw new Error(`${entity.entity}: ${entity.error.message}`);
    out[entity.entity] = { missing: entity.missing, older: entity.older, tied: entity.tied };
  }
  return out;
}

const zero = { missing: 0, older: 0, tied: 0 };
const allZero: Counts = Object.fromEntries(ENTITIES.map((entity) => [entity.name, zero]));
/** What beforeAll creates that a pass into B from A would pull. */
const created: Counts = { ...allZero, factsets: { missing: 1, older: 1, tied: 1 }, reports: { missing: 1, older: 0, tied: 0 } };
const ours = (certname: string) => certname.startsWith(`${prefix}-`);

describe('diff: divergence between two real PuppetDBs', () => {
  let intoB: Config;
  let intoA: Config;

  beforeAll(async () => {
    intoB = await configInto(serverB, serverA);
    intoA = await configInto(serverA, serverB);
    // The counts are per entity for the whole server: start from servers in step.
    // Two rounds, for the ties of catalog inputs and facts expiration.
    for (let round = 0; round < 2; round++) {
      await syncInto(serverB, serverA);
      await syncInto(serverA, serverB);
    }
    await Promise.all([waitForQueueDrained(serverA), waitForQueueDrained(serverB)]);

    // Other values at the same time: a real conflict, whichever content wins it.
    const tieA = factset('tie', base, { role: 'tie-a' });
    const tieB = factset('tie', base, { role: 'tie-b' }, 'puppet-b.example.net');
    await Promise.all([
      submit(serverA, 'replace_facts', 5, factset('only-a', base, { role: 'web' })),
      submit(serverA, 'replace_facts', 5, factset('newer-on-a', base + 60_000, { role: 'new' })),
      submit(serverB, 'replace_facts', 5, factset('newer-on-a', base, { role: 'old' })),
      submit(serverA, 'replace_facts', 5, tieA),
      submit(serverB, 'replace_facts', 5, tieB),
      submit(serverA, 'store_report', 8, report('reported-on-a', base)),
      // Left out, as a pass leaves them out: a node deactivated on A 20 days ago
      // (node-purge-ttl 14d) and a report 20 days old (report-ttl 14d).
      submit(serverA, 'replace_facts', 5, factset('purged-on-a', Date.now() - 30 * DAY_MS, { role: 'ancient' })),
      submit(serverA, 'store_report', 8, report('old-report', Date.now() - 20 * DAY_MS)),
    ]);
    await Promise.all([waitForQueueDrained(serverA), waitForQueueDrained(serverB)]);
    await submit(serverA, 'deactivate_node', 3, { certname: `${prefix}-purged-on-a`, producer_timestamp: iso(Date.now() - 20 * DAY_MS) });
    await Promise.all([waitForQueueDrained(serverA), waitForQueueDrained(serverB)]);
  });

  it('counts exactly the records created, for the prefix and for the whole server', async () => {
    const scoped = await measureDivergence(intoB, log, { certnameFilter: ours });
    expect(countsOf(scoped)).toEqual(created);
    const whole = await measureDivergence(intoB, log);
    console.log(`diff B <- A over the whole servers: ${whole.elapsedMs} ms\n${formatDivergenceTable(whole)}`);
    expect(countsOf(whole)).toEqual(created);
    expect(divergenceExitCode(whole)).toBe(1);
    expect(formatDivergenceTable(whole)).toContain('not in step: 4 records differ (2 missing, 1 older, 1 tied)');
  });

  it('counts only the tie the other way: B has no record newer than A, and a tie counts on both servers, whichever wins it', async () => {
    const tieOnly: Counts = { ...allZero, factsets: { missing: 0, older: 0, tied: 1 } };
    const scoped = await measureDivergence(intoA, log, { certnameFilter: ours });
    expect(countsOf(scoped)).toEqual(tieOnly);
    const whole = await measureDivergence(intoA, log);
    expect(countsOf(whole)).toEqual(tieOnly);
    expect(divergenceExitCode(whole)).toBe(1);
  });

  it('counts nothing either way after one pass each way', async () => {
    await syncInto(serverB, serverA);
    await syncInto(serverA, serverB);
    for (const config of [intoB, intoA]) {
      const scoped = await measureDivergence(config, log, { certnameFilter: ours });
      expect(countsOf(scoped)).toEqual(allZero);
      const whole = await measureDivergence(config, log);
      expect(countsOf(whole)).toEqual(allZero);
      expect(divergenceExitCode(whole)).toBe(0);
      expect(formatDivergenceTable(whole).trimEnd().split('\n').at(-1)).toBe('in step: no record differs');
    }
  });

  it('reports an unreachable remote as an error (exit 2)', async () => {
    const config = await configInto(serverB, 'http://127.0.0.1:9');
    const report = await measureDivergence({ ...config, sync: { ...config.sync, requestTimeoutMs: 2_000 } }, createLogger('fatal'));
    expect(report.remotes[0]!.entities).toHaveLength(ENTITIES.length);
    for (const entity of report.remotes[0]!.entities) expect(entity).toMatchObject({ error: { code: 'PDBSYNC_ERR_HTTP_CONNECT' } });
    expect(divergenceExitCode(report)).toBe(2);
  });

  it('CLI: `diff --config FILE --json` exits 1 while B differs, 0 after a pass, 2 for an unreachable remote', async () => {
    const cli = new URL('../../dist/cli.js', import.meta.url).pathname;
    const diff = (file: string) => spawnSync(process.execPath, [cli, 'diff', '--config', file, '--json'], { encoding: 'utf8' });
    await submit(serverA, 'replace_facts', 5, factset('cli-only-on-a', base, { role: 'cli' }));
    await waitForQueueDrained(serverA);
    const file = writeConfig(serverB, [serverA]);
    const before = diff(file);
    expect(before.status).toBe(1);
    const json = JSON.parse(before.stdout) as { inStep: boolean; remotes: Array<{ entities: Record<string, { missing?: number }> }> };
    expect(json.inStep).toBe(false);
    expect(json.remotes[0]!.entities.factsets).toMatchObject({ missing: 1 });
    await syncInto(serverB, serverA);
    expect(diff(file).status).toBe(0);
    const unreachable = diff(writeConfig(serverB, ['http://127.0.0.1:9'], '  request-timeout: 2s\n'));
    expect(unreachable.status).toBe(2);
  });
});
