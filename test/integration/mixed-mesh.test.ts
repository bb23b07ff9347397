import { beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { PDB_VERSIONS } from '../../scripts/pdb-runtime.ts';
import {
  catalog,
  catalogInputs,
  deactivation,
  expectEveryEntityOk,
  factset,
  factsExpiration,
  load,
  movedWithPrefix,
  recordsOn,
  uniquePrefix,
  type Command,
  type Records,
} from './convergence.ts';
import { besidesProgress, iso, plainReport, runCli, writeConfig, type RunResult } from './pdb.ts';

// A rolling upgrade: one server of each PuppetDB version in a full mesh, each pulling
// from the other two, with records written on all three.
const pairs = inject('pdbVersions');
const servers = PDB_VERSIONS.map((version) => pairs[version]?.[0]).filter((url) => url !== undefined);

/** One round: each server in turn pulls once from the other two, then its queue drains. */
async function meshRound(): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const local of servers) {
    const result = await runCli(['once', '--config', writeConfig(local, servers.filter((url) => url !== local)), '--log-level', 'debug']);
    expect(besidesProgress(result.stderr)).toBe('');
    await waitForQueueDrained(local);
    results.push(result);
  }
  return results;
}

describe.runIf(servers.length === PDB_VERSIONS.length)(`a full mesh of PuppetDB ${PDB_VERSIONS.join(', ')}`, () => {
  const prefix = uniquePrefix('mesh');
  const name = (suffix: string) => `${prefix}-${suffix}`;
  const base = Date.now() - 3600_000;
  const uuid = (n: number) => `33333333-0000-4000-8000-${String(n).padStart(12, '0')}`;
  // The newest version of a record on a different server for each entity, so every
  // server is the source of something: producer times by server.
  const factsTimes = [base, base + 120_000, base + 60_000];
  const catalogTimes = [base + 120_000, base, base + 60_000];
  const settingTimes = [base + 60_000, base, base + 120_000];
  let firstRound: RunResult[];
  let after: Records[];

  beforeAll(async () => {
    const each = (make: (url: string, i: number) => Command) => servers.map(make);
    await load(servers, [
      [
        ...each((url, i) => [url, 'replace_facts', 5, factset(name(`fs-on-${i}`), base, `role-${i}`)]),
        ...each((url, i) => [url, 'replace_facts', 5, factset(name('fs-newer'), factsTimes[i]!, `newer-${i}`)]),
        ...each((url, i) => [url, 'replace_catalog', 9, catalog(name(`cat-on-${i}`), i, base)]),
        ...each((url, i) => [url, 'replace_catalog', 9, catalog(name('cat-newer'), i, catalogTimes[i]!)]),
        ...each((url, i) => [url, 'store_report', 8, plainReport(name(`rep-on-${i}`), base, `run-${i}`)]),
        [servers[0]!, 'replace_facts', 5, factset(name('fs-deactivated'), base, 'gone')],
        [servers[2]!, 'replace_facts', 5, factset(name('fs-deactivated'), base, 'gone')],
      ],
      [
        ...each((url, i) => [url, 'replace_catalog_inputs', 1, catalogInputs(name(`cat-on-${i}`), base, uuid(i), [`on::${i}`])]),
        ...each((url, i) => [url, 'replace_catalog_inputs', 1, catalogInputs(name('cat-newer'), settingTimes[i]!, uuid(10 + i), [`newer::${i}`])]),
        // On the newest version, of a node the middle one has never seen.
        [servers[2]!, 'deactivate_node', 3, deactivation(name('fs-deactivated'), base + 300_000)],
      ],
      [
        ...each((url, i) => [url, 'configure_expiration', 1, factsExpiration(name(`cat-on-${i}`), base, i % 2 === 0)]),
        ...each((url, i) => [url, 'configure_expiration', 1, factsExpiration(name('cat-newer'), settingTimes[i]!, i !== 2)]),
      ],
    ]);
    firstRound = await meshRound();
    after = await Promise.all(servers.map((url) => recordsOn(url, prefix)));
  });

  it('finishes every entity ok on every server, from both remotes', () => {
    for (const result of firstRound) expectEveryEntityOk(result);
  });

  it('leaves every record of every server equal on all three after one round', () => {
    const [first, ...others] = after as [Records, ...Records[]];
    for (const [i, records] of others.entries()) expect(records, servers[i + 1]).toEqual(first);
    expect(Object.keys(first.factsets).sort()).toEqual(['fs-deactivated', 'fs-newer', 'fs-on-0', 'fs-on-1', 'fs-on-2'].map(name).sort());
    expect(Object.keys(first.catalogs).sort()).toEqual(['cat-newer', 'cat-on-0', 'cat-on-1', 'cat-on-2'].map(name).sort());
    expect(Object.keys(first.catalogInputs)).toHaveLength(4);
    expect(Object.keys(first.factsExpiration)).toHaveLength(4);
    expect(Object.keys(first.reports)).toHaveLength(3);
  });

  it('keeps the newest version of each record, whichever server it was written on', () => {
    const [records] = after as [Records];
    expect(records.factsets[name('fs-newer')]).toMatchObject({ producer_timestamp: iso(base + 120_000), facts: { role: 'newer-1' } });
    expect(records.catalogs[name('cat-newer')]).toMatchObject({ producer_timestamp: iso(base + 120_000) });
    expect(records.catalogInputs[name('cat-newer')]).toMatchObject({ inputs: [['hiera', 'newer::2']] });
    expect(records.factsExpiration[name('cat-newer')]).toMatchObject({ expires_facts: false, expires_facts_updated: iso(base + 120_000) });
    expect(records.nodes[name('fs-deactivated')]).toBe(iso(base + 300_000));
  });

  it('goes quiet: a second round moves nothing of the prefix', async () => {
    expect(movedWithPrefix(await meshRound(), prefix)).toEqual({});
  });
});
