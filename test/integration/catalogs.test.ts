import { beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { readSamples } from '../../scripts/samples.ts';
import { expectQuietBothWays, iso, query, submit, syncInto, transferredWithPrefix, type RunResult } from './pdb.ts';

const [serverA, serverB] = inject('pdbServers') as [string, string];
const prefix = `cat-${Date.now().toString(36)}`;
const base = Date.now() - 3600_000;
const name = (suffix: string) => `${prefix}-${suffix}`;

/** PuppetDB's own benchmark catalogs (about 230 KB each), as replace_catalog v9 payloads. */
const samples = readSamples('catalogs').map(({ hash: _hash, ...catalog }) => catalog);

function catalog(suffix: string, sample: number, at: number, metadata: Record<string, unknown> = {}) {
  return {
    ...samples[sample]!,
    certname: name(suffix),
    producer_timestamp: iso(at),
    job_id: null,
    ...metadata,
  };
}

const inputs = (suffix: string, at: number, catalogUuid: string, keys: string[]) => ({
  certname: name(suffix),
  producer_timestamp: iso(at),
  catalog_uuid: catalogUuid,
  inputs: keys.map((key) => ['hiera', key]),
});

const expiration = (suffix: string, at: number, facts: boolean) => ({ certname: name(suffix), producer_timestamp: iso(at), expire: { facts } });

const ofThisTest = ['~', 'certname', `^${prefix}-`];
const any = ['=', 'node_state', 'any'];
const CATALOG_FIELDS = ['certname', 'hash', 'producer_timestamp', 'transaction_uuid', 'catalog_uuid', 'version', 'code_id', 'environment', 'producer'];

async function byCertname(url: string, entity: string, fields: string[], filter: unknown[] = ['and', any, ofThisTest], options = {}) {
  const rows = await query(url, ['from', entity, ['extract', fields, filter]], options);
  return Object.fromEntries(rows.map((row) => [row.certname, row]));
}

const catalogsOn = (url: string) => byCertname(url, 'catalogs', CATALOG_FIELDS);

async function inputsOn(url: string) {
  const rows = await byCertname(url, 'catalog_inputs', ['certname', 'producer_timestamp', 'catalog_uuid', 'inputs']);
  for (const row of Object.values(rows) as Array<{ inputs: string[][] }>) row.inputs.sort((a, b) => a.join().localeCompare(b.join()));
  return rows;
}

/**
 * report_timestamp is asked too, and left out: without a field that needs the join to
 * certnames, PuppetDB 8.5+ answers this query with an error (docs/versions.md).
 */
async function expirationOn(url: string) {
  const rows = await byCertname(url, 'nodes', ['certname', 'expires_facts', 'expires_facts_updated', 'report_timestamp'], ['and', any, ofThisTest, ['null?', 'expires_facts_updated', false]], {
    include_facts_expiration: true,
  });
  return Object.fromEntries(Object.entries(rows as Record<string, Record<string, unknown>>).map(([certname, { report_timestamp: _joined, ...row }]) => [certname, row]));
}

describe('catalogs, catalog inputs and facts expiration between two real PuppetDBs', () => {
  let intoB: RunResult;
  let intoA: RunResult;

  beforeAll(async () => {
    const onA = [
      catalog('only-a', 0, base),
      catalog('newer-on-a', 0, base + 120_000),
      catalog('newer-on-b', 0, base),
      catalog('tie', 0, base),
      catalog('tie-metadata', 1, base, { transaction_uuid: '00000000-0000-4000-8000-00000000000a', catalog_uuid: '00000000-0000-4000-8000-0000000000ca', code_id: 'code-a' }),
    ];
    const onB = [
      catalog('only-b', 1, base),
      catalog('newer-on-a', 1, base),
      catalog('newer-on-b', 2, base + 60_000),
      catalog('tie', 2, base),
      catalog('tie-metadata', 1, base, { transaction_uuid: '00000000-0000-4000-8000-00000000000b', catalog_uuid: '00000000-0000-4000-8000-0000000000cb', code_id: 'code-b' }),
    ];
    await Promise.all([...onA.map((c) => submit(serverA, 'replace_catalog', 9, c)), ...onB.map((c) => submit(serverB, 'replace_catalog', 9, c))]);
    await Promise.all([
      submit(serverA, 'replace_catalog_inputs', 1, inputs('only-a', base, '11111111-0000-4000-8000-000000000001', ['a::one', 'a::two'])),
      submit(serverA, 'replace_catalog_inputs', 1, inputs('tie', base, '11111111-0000-4000-8000-000000000002', ['tie::a'])),
      submit(serverB, 'replace_catalog_inputs', 1, inputs('tie', base, '11111111-0000-4000-8000-000000000003', ['tie::b'])),
      submit(serverA, 'replace_catalog_inputs', 1, inputs('newer-on-b', base, '11111111-0000-4000-8000-000000000004', ['old'])),
      submit(serverB, 'replace_catalog_inputs', 1, inputs('newer-on-b', base + 60_000, '11111111-0000-4000-8000-000000000005', ['new'])),
      submit(serverA, 'configure_expiration', 1, expiration('only-a', base, false)),
      submit(serverA, 'configure_expiration', 1, expiration('newer-on-b', base, true)),
      submit(serverA, 'configure_expiration', 1, expiration('tie', base, false)),
      submit(serverB, 'configure_expiration', 1, expiration('tie', base, true)),
      submit(serverB, 'configure_expiration', 1, expiration('newer-on-b', base + 60_000, false)),
    ]);
    await Promise.all([waitForQueueDrained(serverA), waitForQueueDrained(serverB)]);

    const [a, b] = [await catalogsOn(serverA), await catalogsOn(serverB)];
    expect(a[name('tie')]!.hash).not.toBe(b[name('tie')]!.hash);
    expect(a[name('tie-metadata')]!.hash).toBe(b[name('tie-metadata')]!.hash);

    intoB = await syncInto(serverB, serverA);
    intoA = await syncInto(serverA, serverB);
  });

  it('exits 0 both ways', () => {
    expect([intoB.code, intoA.code]).toEqual([0, 0]);
  });

  it('transfers each differing record once, in one direction or the other', () => {
    const [b, a] = [transferredWithPrefix(intoB, prefix), transferredWithPrefix(intoA, prefix)];
    // Catalogs: only-a, only-b, newer-on-a, newer-on-b, and each tie to the content that wins it.
    expect((b.catalogs ?? 0) + (a.catalogs ?? 0)).toBe(6);
    // Inputs into B: only-a, and the tie when A's inputs win it. Into A: newer-on-b, and
    // either B's inputs, which won the tie, or A's own back from B, 1 ms later.
    expect([1, 2]).toContain(b['catalog-inputs']);
    expect(a['catalog-inputs']).toBe(2);
    // Expiration: only-a, newer-on-b, the tie.
    expect((b['fact-expiration'] ?? 0) + (a['fact-expiration'] ?? 0)).toBe(3);
  });

  it('leaves every catalog equal on both servers, metadata and ties included', async () => {
    const [a, b] = [await catalogsOn(serverA), await catalogsOn(serverB)];
    expect(Object.keys(a).sort()).toEqual(['newer-on-a', 'newer-on-b', 'only-a', 'only-b', 'tie', 'tie-metadata'].map(name).sort());
    expect(b).toEqual(a);
    expect(a[name('newer-on-a')]!.producer_timestamp).toBe(iso(base + 120_000));
    expect(a[name('newer-on-b')]!.producer_timestamp).toBe(iso(base + 60_000));
  });

  const withoutTime = (rows: Record<string, Record<string, unknown>>, field: string) =>
    Object.fromEntries(Object.entries(rows).map(([certname, { [field]: _time, ...rest }]) => [certname, rest]));

  it('leaves catalog inputs and facts-expiration settings with equal content on both servers', async () => {
    const [a, b] = [await inputsOn(serverA), await inputsOn(serverB)];
    expect(Object.keys(a).sort()).toEqual(['newer-on-b', 'only-a', 'tie'].map(name).sort());
    expect(withoutTime(b, 'producer_timestamp')).toEqual(withoutTime(a, 'producer_timestamp'));
    expect(a[name('newer-on-b')]!.inputs).toEqual([['hiera', 'new']]);
    const [expiresA, expiresB] = [await expirationOn(serverA), await expirationOn(serverB)];
    expect(withoutTime(expiresB, 'expires_facts_updated')).toEqual(withoutTime(expiresA, 'expires_facts_updated'));
    expect(expiresA[name('only-a')]).toMatchObject({ expires_facts: false });
    expect(expiresA[name('tie')]).toMatchObject({ expires_facts: true });
    expect(expiresA[name('newer-on-b')]).toMatchObject({ expires_facts: false, expires_facts_updated: iso(base + 60_000) });
  });

  it('settles the ties PuppetDB will not overwrite within a second round, then transfers nothing', async () => {
    // The tie winner was written 1 ms later on the losing server; the winning server
    // takes that as newer, once (in the first round when it was pulled from second),
    // and both hold the same timestamp.
    const second = [await syncInto(serverB, serverA), await syncInto(serverA, serverB)];
    const moved = second.map((result) => transferredWithPrefix(result, prefix));
    const inputsMoved = (results: RunResult[]) => results.map((result) => transferredWithPrefix(result, prefix)['catalog-inputs'] ?? 0).reduce((x, y) => x + y);
    expect(moved.map((counts) => counts.catalogs ?? 0)).toEqual([0, 0]);
    expect(inputsMoved([intoB, intoA, ...second])).toBe(4);
    expect(moved.map((counts) => counts['fact-expiration'] ?? 0).reduce((x, y) => x + y)).toBe(1);
    expect(await inputsOn(serverB)).toEqual(await inputsOn(serverA));
    expect(await expirationOn(serverB)).toEqual(await expirationOn(serverA));

    await expectQuietBothWays(serverA, serverB);
  });
});
