import { beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { readSamples } from '../../scripts/samples.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import { measureDivergence } from '../../src/sync/divergence.ts';
import { ENTITIES } from '../../src/wiring.ts';
import { collectedLog } from '../log-check.ts';
import { iso, query, submit, syncInto, tiesInStepWithPrefix, transferredWithPrefix, warningsOf, type RunResult } from './pdb.ts';
import { NO_REPORT_SETTLE } from './test-settings.ts';

/**
 * Two servers holding different factsets, and different catalogs, for one node at the
 * same producer_timestamp from the same producer (one catalog_uuid): neither summary
 * row says which is newer, and only the records' content can settle them.
 */

const [serverA, serverB] = inject('pdbServers') as [string, string];
const prefix = `ties-${Date.now().toString(36)}`;
const base = Date.now() - 3600_000;
const certname = (entity: string) => `${prefix}-${entity}`;
const ours = (name: string) => name.startsWith(`${prefix}-`);
const { log } = collectedLog('error');

const PRODUCER = 'puppet-a.example.net';

function factset(role: string, bash: string) {
  return {
    certname: certname('facts'),
    environment: 'production',
    producer_timestamp: iso(base),
    producer: PRODUCER,
    values: { os: { family: 'Debian' }, role, load_averages: { '1m': 0.0 } },
    package_inventory: [['bash', bash, 'apt']],
  };
}

/** PuppetDB's own benchmark catalogs: two different ones under one compilation's metadata. */
const samples = readSamples('catalogs').map(({ hash: _hash, ...catalog }) => catalog);
const METADATA = {
  certname: certname('catalog'),
  producer_timestamp: iso(base),
  producer: PRODUCER,
  catalog_uuid: '7135d2c4-0000-4000-8000-000000000001',
  transaction_uuid: '7135d2c4-0000-4000-8000-000000000002',
  version: '1700000000',
  code_id: null,
  job_id: null,
  environment: 'production',
};

/** What must be equal on both servers: each record's content, read back. */
async function contentOn(url: string) {
  const mine = (extra: unknown[] = []) => ['and', ['=', 'node_state', 'any'], ['~', 'certname', `^${prefix}-`], ...extra];
  const [factsetRows, facts, packages, catalogRows, resources, edges] = await Promise.all([
    query(url, ['from', 'factsets', ['extract', ['certname', 'hash', 'producer_timestamp', 'producer', 'environment'], mine()]]),
    query(url, ['from', 'facts', ['extract', ['name', 'value'], mine()]], { order_by: [{ field: 'name' }] }),
    query(url, ['from', 'package_inventory', ['extract', ['package_name', 'version', 'provider'], mine()]]),
    query(url, ['from', 'catalogs', ['extract', ['certname', 'hash', 'producer_timestamp', 'catalog_uuid', 'transaction_uuid', 'version', 'producer'], mine()]]),
    query(url, ['from', 'resources', ['extract', ['type', 'title', 'tags', 'exported', 'file', 'line', 'parameters'], mine()]], { order_by: [{ field: 'type' }, { field: 'title' }] }),
    query(url, ['from', 'edges', ['extract', ['source_type', 'source_title', 'target_type', 'target_title', 'relationship'], mine()]], {
      order_by: [{ field: 'source_type' }, { field: 'source_title' }, { field: 'target_type' }, { field: 'target_title' }, { field: 'relationship' }],
    }),
  ]);
  return { factsetRows, facts, packages, catalogRows, resources, edges };
}

function configInto(local: string, remote: string): Promise<Config> {
  return parseConfig(`local: { server_url: "${local}" }\nsync: { remotes: [ { server_url: "${remote}" } ]\n${NO_REPORT_SETTLE} }\n`, 'ties-test.conf');
}

/** What `diff` counts into `local` from `remote` for this test's records, by entity, with every other count 0. */
async function tiedInto(local: string, remote: string): Promise<Record<string, number>> {
  const report = await measureDivergence(await configInto(local, remote), log, { certnameFilter: ours });
  const tied: Record<string, number> = {};
  for (const entity of report.remotes[0]!.entities) {
    if ('error' in entity) throw new Error(`${entity.entity}: ${entity.error.message}`);
    expect(entity, entity.entity).toMatchObject({ missing: 0, older: 0 });
    if (entity.tied > 0) tied[entity.entity] = entity.tied;
  }
  expect(report.remotes[0]!.entities).toHaveLength(ENTITIES.length);
  return tied;
}

/** One `once` into B from A, then one into A from B. */
async function roundBothWays(): Promise<[RunResult, RunResult]> {
  const intoB = await syncInto(serverB, serverA);
  const intoA = await syncInto(serverA, serverB);
  for (const result of [intoB, intoA]) {
    expect(result.code).toBe(0);
    expect(warningsOf(result)).toEqual([]);
  }
  return [intoB, intoA];
}

describe('ties by content: one node, one producer, one producer_timestamp, different records on two real PuppetDBs', () => {
  let first: [RunResult, RunResult];

  beforeAll(async () => {
    await Promise.all([
      submit(serverA, 'replace_facts', 5, factset('web', '5.2.15')),
      submit(serverB, 'replace_facts', 5, factset('db', '5.2.21')),
      submit(serverA, 'replace_catalog', 9, { ...samples[0]!, ...METADATA }),
      submit(serverB, 'replace_catalog', 9, { ...samples[1]!, ...METADATA }),
    ]);
    await Promise.all([waitForQueueDrained(serverA), waitForQueueDrained(serverB)]);
    const [a, b] = [await contentOn(serverA), await contentOn(serverB)];
    expect(a.factsetRows).toHaveLength(1);
    expect(a.catalogRows).toHaveLength(1);
    expect(b.factsetRows[0]!.hash).not.toBe(a.factsetRows[0]!.hash);
    expect(b.catalogRows[0]!.hash).not.toBe(a.catalogRows[0]!.hash);
  });

  it('diff counts each tie on both servers before any pass', async () => {
    expect(await tiedInto(serverB, serverA)).toEqual({ catalogs: 1, factsets: 1 });
    expect(await tiedInto(serverA, serverB)).toEqual({ catalogs: 1, factsets: 1 });
  });

  it('one round each way moves each record once, towards the content that wins, whichever server holds it', async () => {
    first = await roundBothWays();
    const [intoB, intoA] = first.map((result) => transferredWithPrefix(result, prefix));
    for (const entity of ['facts', 'catalogs']) {
      expect((intoB![entity] ?? 0) + (intoA![entity] ?? 0), entity).toBe(1);
      // When B's record wins, the pass into B reads both and submits nothing; the pass
      // into A then takes B's. When A's wins, B takes it, and the pass into A finds the
      // servers in step from their summaries alone.
      expect(tiesInStepWithPrefix(first[0], prefix)[entity] ?? [], entity).toEqual(intoB![entity] === 1 ? [] : ['local-wins']);
      expect(tiesInStepWithPrefix(first[1], prefix)[entity] ?? [], entity).toEqual([]);
    }
  });

  it('leaves each record with equal content on both servers', async () => {
    const [a, b] = [await contentOn(serverA), await contentOn(serverB)];
    expect(b).toEqual(a);
    expect(a.facts.find((fact) => fact.name === 'role')?.value).toMatch(/^(web|db)$/);
    expect(a.packages).toHaveLength(1);
    expect(a.catalogRows[0]).toMatchObject({ catalog_uuid: METADATA.catalog_uuid, producer: PRODUCER, producer_timestamp: iso(base) });
  });

  it('transfers nothing in a second round each way, and reads no record', async () => {
    const second = await roundBothWays();
    for (const result of second) {
      expect(transferredWithPrefix(result, prefix)).toEqual({});
      expect(result.logs.filter((line) => line.phase === 'record' && String(line.certname).startsWith(prefix))).toEqual([]);
    }
  });

  it('diff then counts nothing either way', async () => {
    expect(await tiedInto(serverB, serverA)).toEqual({});
    expect(await tiedInto(serverA, serverB)).toEqual({});
  });
});
