import { expect } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { readSamples } from '../../scripts/samples.ts';
import { iso, query, submit, transferredWithPrefix, type RunResult } from './pdb.ts';

/**
 * Shared by version-matrix.test.ts and mixed-mesh.test.ts: command payloads for
 * records named `${prefix}-${suffix}`, loading them, and reading back every record of
 * a prefix, so convergence can be asserted on servers other tests write into too.
 */

/** A certname prefix unique to one test run on one version (no dots: it goes into a regex). */
export const uniquePrefix = (tag: string) => `${tag}-${Date.now().toString(36)}`;

/** PuppetDB's own benchmark catalogs, as replace_catalog v9 payloads (PuppetDB hashes them itself). */
const catalogSamples = readSamples('catalogs').map(({ hash: _hash, ...catalog }) => catalog);

export function factset(certname: string, at: number, role: string, producer = 'puppet-a.example.net') {
  return {
    certname,
    environment: 'production',
    producer_timestamp: iso(at),
    producer,
    values: { role, os: { family: 'Debian', release: { major: '12' } } },
    package_inventory: [
      ['openssl', '3.0.15', 'apt'],
      [`${role}-tool`, '1.0', 'gem'],
    ],
  };
}

export function catalog(certname: string, sample: number, at: number) {
  return { ...catalogSamples[sample % catalogSamples.length]!, certname, producer_timestamp: iso(at), job_id: null };
}

export const catalogInputs = (certname: string, at: number, catalogUuid: string, keys: string[]) => ({
  certname,
  producer_timestamp: iso(at),
  catalog_uuid: catalogUuid,
  inputs: keys.map((key) => ['hiera', key]),
});

export const factsExpiration = (certname: string, at: number, facts: boolean) => ({ certname, producer_timestamp: iso(at), expire: { facts } });

export const deactivation = (certname: string, at: number) => ({ certname, producer_timestamp: iso(at) });

/** One command: the server it goes to, its name and version, its payload. */
export type Command = [url: string, command: string, version: number, payload: { certname: string; producer_timestamp: string }];

/**
 * Submits each round's commands together, then waits for every server's queue to
 * drain before the next round: PuppetDB 7 misbehaves when a second command for one
 * certname arrives while the first is still queued.
 */
export async function load(servers: string[], rounds: Command[][]): Promise<void> {
  for (const round of rounds) {
    await Promise.all(round.map(([url, command, version, payload]) => submit(url, command, version, payload)));
    await Promise.all(servers.map((url) => waitForQueueDrained(url)));
  }
}

type Rows = Record<string, Record<string, unknown>>;

/** Every record of the prefix on one server, by certname (reports by transaction_uuid). */
export interface Records {
  factsets: Rows;
  catalogs: Rows;
  catalogInputs: Rows;
  factsExpiration: Rows;
  /** certname -> deactivation time, null when active. */
  nodes: Record<string, string | null>;
  reports: Rows;
}

const CATALOG_FIELDS = ['certname', 'hash', 'producer_timestamp', 'transaction_uuid', 'catalog_uuid', 'version', 'code_id', 'environment', 'producer'];

const byKey = (rows: Record<string, unknown>[], key = 'certname'): Rows => Object.fromEntries(rows.map((row) => [String(row[key]), row]));

export async function recordsOn(url: string, prefix: string): Promise<Records> {
  const mine = ['and', ['=', 'node_state', 'any'], ['~', 'certname', `^${prefix}-`]];
  const from = (entity: string, fields: string[], filter: unknown[] = mine, options = {}) => query(url, ['from', entity, ['extract', fields, filter]], options);
  const [factsets, catalogs, inputs, expiration, nodes, reports] = await Promise.all([
    from('factsets', ['certname', 'hash', 'producer_timestamp', 'environment', 'producer', 'facts']),
    from('catalogs', CATALOG_FIELDS),
    from('catalog_inputs', ['certname', 'producer_timestamp', 'catalog_uuid', 'inputs']),
    // report_timestamp is asked and dropped: PuppetDB 8.5+ fails this query without a joined field (docs/versions.md).
    from('nodes', ['certname', 'expires_facts', 'expires_facts_updated', 'report_timestamp'], [...mine, ['null?', 'expires_facts_updated', false]], { include_facts_expiration: true }),
    from('nodes', ['certname', 'deactivated']),
    from('reports', ['certname', 'hash', 'producer_timestamp', 'transaction_uuid'], [...mine, ['null?', 'type', false]]),
  ]);
  for (const row of factsets) {
    const facts = (row.facts as { data: Array<{ name: string; value: unknown }> }).data;
    row.facts = Object.fromEntries(facts.map(({ name, value }) => [name, value]).sort(([x], [y]) => String(x).localeCompare(String(y))));
  }
  for (const row of inputs) (row.inputs as string[][]).sort((x, y) => x.join().localeCompare(y.join()));
  for (const row of expiration) delete row.report_timestamp;
  return {
    factsets: byKey(factsets),
    catalogs: byKey(catalogs),
    catalogInputs: byKey(inputs),
    factsExpiration: byKey(expiration),
    nodes: Object.fromEntries(nodes.map((row) => [String(row.certname), row.deactivated as string | null])),
    reports: byKey(reports, 'transaction_uuid'),
  };
}

/** `records` without the certnames `leaveOut` and without the fields `dropFields`, for comparing what must be equal. */
export function without(records: Records, leaveOut: string[], dropFields: string[] = []): Records {
  const keep = <T>(rows: Record<string, T>) =>
    Object.fromEntries(
      Object.entries(rows)
        .filter(([key, row]) => !leaveOut.includes(key) && !(row !== null && typeof row === 'object' && leaveOut.includes(String((row as { certname?: unknown }).certname))))
        .map(([key, row]) => [key, row !== null && typeof row === 'object' ? Object.fromEntries(Object.entries(row).filter(([field]) => !dropFields.includes(field))) : row]),
    ) as Record<string, T>;
  return {
    factsets: keep(records.factsets),
    catalogs: keep(records.catalogs),
    catalogInputs: keep(records.catalogInputs),
    factsExpiration: keep(records.factsExpiration),
    nodes: keep(records.nodes),
    reports: keep(records.reports),
  };
}

/** Each entity of a pass finished ok and failed nothing, and the process exited 0. */
export function expectEveryEntityOk(result: RunResult): void {
  expect(result.code, result.stderr).toBe(0);
  const entities = result.logs.filter((line) => line.phase === 'entity' && line.sync_event === 'finished');
  expect(entities.length).toBeGreaterThanOrEqual(6);
  for (const line of entities) expect(line, String(line.sync_entity)).toMatchObject({ ok: true, failed: 0 });
}

/** Records of the prefix a set of passes transferred, summed by entity. */
export function movedWithPrefix(results: RunResult[], prefix: string): Record<string, number> {
  const total: Record<string, number> = {};
  for (const result of results) {
    for (const [entity, count] of Object.entries(transferredWithPrefix(result, prefix))) total[entity] = (total[entity] ?? 0) + count;
  }
  return total;
}
