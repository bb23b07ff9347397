import { beforeAll, describe, expect, inject, it } from 'vitest';
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
  without,
  type Command,
  type Records,
} from './convergence.ts';
import { DAY_MS, iso, plainReport, syncInto, type RunResult } from './pdb.ts';

// The convergence scenarios of the suite, on a pair of servers of each PuppetDB
// version: what a deployment on that version alone gets. The records are scoped to a
// prefix per version, as the 8.8.1 pair is the suite's own servers.
const pairs = inject('pdbVersions');
const versions = PDB_VERSIONS.filter((version) => pairs[version]?.length === 2);

describe.each(versions)('convergence between two PuppetDB %s servers', (version) => {
  const [serverA, serverB] = pairs[version] as [string, string];
  const prefix = uniquePrefix(`mx-${version.replaceAll('.', '')}`);
  const name = (suffix: string) => `${prefix}-${suffix}`;
  const base = Date.now() - 3600_000;
  // Left on A alone by a pass: past the default node-purge-ttl and report-ttl (14d).
  const purged = name('fs-purged-on-a');
  const oldReport = plainReport(name('rep-old-on-a'), Date.now() - 20 * DAY_MS, 'old');
  const leftOnA = [purged, oldReport.certname];
  // Equal producer_timestamp, different content: factset and catalog, then catalog inputs and facts expiration.
  const contentTies = [name('fs-tie'), name('cat-tie')];
  const settingTies = [name('cat-tie')];
  let firstRound: RunResult[];
  let before: Records[];
  let after: Records[];

  beforeAll(async () => {
    const uuid = (n: number) => `22222222-0000-4000-8000-${String(n).padStart(12, '0')}`;
    const onA = (command: string, v: number, payload: Command[3]): Command => [serverA, command, v, payload];
    const onB = (command: string, v: number, payload: Command[3]): Command => [serverB, command, v, payload];
    await load(
      [serverA, serverB],
      [
        // One command per certname in this round: each entity has certnames of its own.
        [
          onA('replace_facts', 5, factset(name('fs-only-a'), base, 'web')),
          onB('replace_facts', 5, factset(name('fs-only-b'), base, 'db')),
          onA('replace_facts', 5, factset(name('fs-newer-on-a'), base + 120_000, 'new')),
          onB('replace_facts', 5, factset(name('fs-newer-on-a'), base, 'old')),
          onA('replace_facts', 5, factset(name('fs-newer-on-b'), base, 'old')),
          onB('replace_facts', 5, factset(name('fs-newer-on-b'), base + 60_000, 'new')),
          onA('replace_facts', 5, factset(name('fs-tie'), base, 'tie-a')),
          onB('replace_facts', 5, factset(name('fs-tie'), base, 'tie-b', 'puppet-c.example.net')),
          onA('replace_facts', 5, factset(name('fs-deactivated-on-a'), base, 'gone')),
          onB('replace_facts', 5, factset(name('fs-deactivated-on-a'), base, 'gone')),
          onA('replace_facts', 5, factset(purged, Date.now() - 30 * DAY_MS, 'ancient')),
          onA('replace_catalog', 9, catalog(name('cat-only-a'), 0, base)),
          onB('replace_catalog', 9, catalog(name('cat-only-b'), 1, base)),
          onA('replace_catalog', 9, catalog(name('cat-newer-on-b'), 0, base)),
          onB('replace_catalog', 9, catalog(name('cat-newer-on-b'), 2, base + 60_000)),
          onA('replace_catalog', 9, catalog(name('cat-tie'), 0, base)),
          onB('replace_catalog', 9, catalog(name('cat-tie'), 2, base)),
          onA('store_report', 8, plainReport(name('rep-only-a'), base, 'a1')),
          onB('store_report', 8, plainReport(name('rep-only-b'), base + 30_000, 'b1')),
          onA('store_report', 8, oldReport),
        ],
        [
          onA('replace_catalog_inputs', 1, catalogInputs(name('cat-only-a'), base, uuid(1), ['a::one', 'a::two'])),
          onA('replace_catalog_inputs', 1, catalogInputs(name('cat-newer-on-b'), base, uuid(2), ['old'])),
          onB('replace_catalog_inputs', 1, catalogInputs(name('cat-newer-on-b'), base + 60_000, uuid(3), ['new'])),
          onA('replace_catalog_inputs', 1, catalogInputs(name('cat-tie'), base, uuid(4), ['tie::a'])),
          onB('replace_catalog_inputs', 1, catalogInputs(name('cat-tie'), base, uuid(5), ['tie::b'])),
          onA('deactivate_node', 3, deactivation(name('fs-deactivated-on-a'), base + 300_000)),
          onA('deactivate_node', 3, deactivation(purged, Date.now() - 20 * DAY_MS)),
          onB('store_report', 8, plainReport(name('rep-only-a'), base + 60_000, 'b2')),
        ],
        [
          onA('configure_expiration', 1, factsExpiration(name('cat-only-a'), base, false)),
          onA('configure_expiration', 1, factsExpiration(name('cat-newer-on-b'), base, true)),
          onB('configure_expiration', 1, factsExpiration(name('cat-newer-on-b'), base + 60_000, false)),
          onA('configure_expiration', 1, factsExpiration(name('cat-tie'), base, false)),
          onB('configure_expiration', 1, factsExpiration(name('cat-tie'), base, true)),
        ],
      ],
    );
    before = [await recordsOn(serverA, prefix), await recordsOn(serverB, prefix)];
    firstRound = [await syncInto(serverB, serverA), await syncInto(serverA, serverB)];
    after = [await recordsOn(serverA, prefix), await recordsOn(serverB, prefix)];
  });

  it('starts apart: the ties differ and each side lacks the other side’s records', () => {
    const [a, b] = before as [Records, Records];
    expect(a.factsets[name('fs-tie')]!.facts).not.toEqual(b.factsets[name('fs-tie')]!.facts);
    expect(a.catalogs[name('cat-tie')]!.hash).not.toBe(b.catalogs[name('cat-tie')]!.hash);
    expect(b.factsets).not.toHaveProperty(name('fs-only-a'));
    expect(a.catalogs).not.toHaveProperty(name('cat-only-b'));
    expect([Object.keys(a.reports).length, Object.keys(b.reports).length]).toEqual([2, 2]);
  });

  it('finishes every entity ok in both directions', () => {
    for (const result of firstRound) expectEveryEntityOk(result);
  });

  it('transfers each differing record once, in one direction or the other, and nothing left out on purpose', () => {
    // facts: only-a, only-b, newer-on-a, newer-on-b, the tie; catalogs: only-a, only-b,
    // newer-on-b, the tie; inputs and expiration: only-a, newer-on-b, the tie; reports:
    // one into B, two into A; nodes: the deactivation of fs-deactivated-on-a. A tie
    // PuppetDB will not overwrite (inputs, expiration) is written 1 ms later on the
    // losing server, and the winner takes it back once: in this round when the winner
    // is the server pulled into second, in the next otherwise.
    const { 'catalog-inputs': inputs, 'fact-expiration': expiration, ...others } = movedWithPrefix(firstRound, prefix);
    expect(others).toEqual({ facts: 5, catalogs: 4, reports: 3, nodes: 1 });
    expect([3, 4]).toContain(inputs);
    expect([3, 4]).toContain(expiration);
  });

  it('leaves every record that is no tie equal on both servers', () => {
    const [a, b] = after.map((records) => without(records, [...contentTies, ...leftOnA])) as [Records, Records];
    expect(b).toEqual(a);
    expect(Object.keys(a.factsets).sort()).toEqual(['fs-deactivated-on-a', 'fs-newer-on-a', 'fs-newer-on-b', 'fs-only-a', 'fs-only-b'].map(name).sort());
    expect(a.factsets[name('fs-newer-on-a')]).toMatchObject({ producer_timestamp: iso(base + 120_000), facts: { role: 'new' } });
    expect(a.factsets[name('fs-newer-on-b')]).toMatchObject({ producer_timestamp: iso(base + 60_000), facts: { role: 'new' } });
    expect(Object.keys(a.catalogs).sort()).toEqual(['cat-newer-on-b', 'cat-only-a', 'cat-only-b'].map(name).sort());
    expect(a.catalogs[name('cat-newer-on-b')]).toMatchObject({ producer_timestamp: iso(base + 60_000) });
    expect(a.catalogInputs[name('cat-newer-on-b')]).toMatchObject({ inputs: [['hiera', 'new']] });
    expect(a.factsExpiration[name('cat-newer-on-b')]).toMatchObject({ expires_facts: false, expires_facts_updated: iso(base + 60_000) });
    expect(a.factsExpiration[name('cat-only-a')]).toMatchObject({ expires_facts: false });
    expect(a.nodes[name('fs-deactivated-on-a')]).toBe(iso(base + 300_000));
    expect(a.nodes[name('fs-only-a')]).toBeNull();
    // Reports by hash: rep-only-a twice (one from each side) and rep-only-b.
    expect(Object.values(a.reports).map((row) => row.hash).sort()).toEqual(Object.values(b.reports).map((row) => row.hash).sort());
    expect(Object.keys(a.reports)).toHaveLength(3);
  });

  it('does not pull a node deactivated longer ago than node-purge-ttl, nor a report older than report-ttl', () => {
    const [a, b] = after as [Records, Records];
    expect(a.nodes).toHaveProperty(purged);
    expect(b.nodes).not.toHaveProperty(purged);
    expect(b.factsets).not.toHaveProperty(purged);
    expect(a.reports).toHaveProperty(oldReport.transaction_uuid);
    expect(b.reports).not.toHaveProperty(oldReport.transaction_uuid);
  });

  it('settles an equal-time catalog-inputs and facts-expiration tie to equal content', () => {
    const [a, b] = after.map((records) => without(records, [], ['producer_timestamp', 'expires_facts_updated'])) as [Records, Records];
    for (const certname of settingTies) {
      expect(b.catalogInputs[certname], certname).toEqual(a.catalogInputs[certname]);
      expect(b.factsExpiration[certname], certname).toEqual(a.factsExpiration[certname]);
    }
  });

  it('settles an equal-time factset and catalog tie with different content to equal content', () => {
    const [a, b] = after as [Records, Records];
    expect(b.factsets[name('fs-tie')]).toEqual(a.factsets[name('fs-tie')]);
    expect(b.catalogs[name('cat-tie')]).toEqual(a.catalogs[name('cat-tie')]);
  });

  it('goes quiet: a second round moves only the ties PuppetDB will not overwrite, a third nothing', async () => {
    // As in catalogs.test.ts: a tie winner written on the losing server is 1 ms later
    // there, and the winning server takes it once more.
    const first = movedWithPrefix(firstRound, prefix);
    const second = movedWithPrefix([await syncInto(serverB, serverA), await syncInto(serverA, serverB)], prefix);
    const { 'catalog-inputs': inputs = 0, 'fact-expiration': expiration = 0, ...others } = second;
    expect(others).toEqual({});
    expect([(first['catalog-inputs'] ?? 0) + inputs, (first['fact-expiration'] ?? 0) + expiration]).toEqual([4, 4]);
    expect(movedWithPrefix([await syncInto(serverB, serverA), await syncInto(serverA, serverB)], prefix)).toEqual({});
    const [a, b] = [await recordsOn(serverA, prefix), await recordsOn(serverB, prefix)];
    expect(without(b, leftOnA)).toEqual(without(a, leftOnA));
  });
});
