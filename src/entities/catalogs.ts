import type { QuerySpec } from '../puppetdb/client.ts';
import type { Command } from '../puppetdb/command.ts';
import { ascendingBy, atOrAfter, certnameIs, extract, fieldIn, from, newest, withAnyNodeState } from '../puppetdb/query.ts';
import type { SummaryRow } from '../types.ts';
import { BATCH_SIZE, readMax, receivedSince, type Change, type Entity, type QuerySource, type SummaryContext } from './entity.ts';
import { FieldReader } from './fields.ts';

/**
 * PuppetDB's catalog hash covers only certname, resources and edges, so two catalogs
 * with equal hashes may still differ in their metadata: every metadata field is part
 * of the tie-break, and equal rows are equal in all of them.
 */
const METADATA = ['catalog_uuid', 'transaction_uuid', 'version', 'code_id', 'job_id', 'environment', 'producer'] as const;

const FIELDS = ['certname', 'hash', 'producer_timestamp', ...METADATA];

const SUMMARY: QuerySpec = { query: from('catalogs', extract(FIELDS, withAnyNodeState())), options: ascendingBy('certname') };

export function parseCatalogSummary(raw: unknown): SummaryRow {
  const row = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'catalog summary row');
  const certname = row.string('certname');
  const producerTimestamp = row.timestamp('producer_timestamp');
  return {
    key: certname,
    certname,
    version: { time: producerTimestamp.ms, tieBreak: [row.string('hash'), ...METADATA.map((field) => row.optionalString(field) ?? '')] },
  };
}

async function* summary(source: QuerySource): AsyncGenerator<SummaryRow> {
  for await (const raw of source.query(SUMMARY)) yield parseCatalogSummary(raw);
}

async function* summaryOf(source: QuerySource, certnames: readonly string[]): AsyncGenerator<SummaryRow> {
  const filter = withAnyNodeState(fieldIn('certname', certnames));
  for await (const raw of source.query({ query: from('catalogs', extract(FIELDS, filter)) })) yield parseCatalogSummary(raw);
}

/**
 * The catalogs endpoint has no receive time: the nodes endpoint's catalog_timestamp
 * is when the server stored the node's catalog, on its own clock. The nodes whose
 * catalog changed are read first, then their catalogs' summaries, a batch at a time.
 */
async function* changes(remote: QuerySource, since: number | null, context: SummaryContext): AsyncGenerator<Change> {
  const changed = since === null ? ['null?', 'catalog_timestamp', false] : atOrAfter('catalog_timestamp', receivedSince(since, context.settings));
  const received = new Map<string, number>();
  const flush = async function* (): AsyncGenerator<Change> {
    for await (const row of summaryOf(remote, [...received.keys()])) yield { row, mark: received.get(row.certname) ?? null };
    received.clear();
  };
  for await (const raw of remote.query({ query: from('nodes', extract(['certname', 'catalog_timestamp'], withAnyNodeState(changed))) })) {
    const node = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'catalog change row');
    received.set(node.string('certname'), node.timestamp('catalog_timestamp').ms);
    if (received.size >= BATCH_SIZE) yield* flush();
  }
  if (received.size > 0) yield* flush();
}

function toResource(raw: unknown, what: string): Record<string, unknown> {
  const resource = new FieldReader(raw, 'PDBSYNC_ERR_RECORD_MALFORMED', what);
  const exported = resource.raw('exported');
  if (typeof exported !== 'boolean') throw resource.fail('exported is not a boolean');
  const parameters = resource.raw('parameters');
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) throw resource.fail('parameters is not an object');
  const line = resource.optionalInteger('line');
  const file = resource.optionalString('file');
  // A null file or line must be left out, not sent as null: a null-valued key changes the catalog hash.
  return {
    type: resource.string('type'),
    title: resource.string('title'),
    exported,
    tags: resource.stringArray('tags'),
    parameters,
    ...(file !== null && { file }),
    ...(line !== null && { line }),
  };
}

function toEdge(raw: unknown, what: string): Record<string, unknown> {
  const edge = new FieldReader(raw, 'PDBSYNC_ERR_RECORD_MALFORMED', what);
  return {
    source: { type: edge.string('source_type'), title: edge.string('source_title') },
    target: { type: edge.string('target_type'), title: edge.string('target_title') },
    relationship: edge.string('relationship'),
  };
}

/** A catalogs query row (resources and edges inline) -> replace_catalog v9 payload. */
export function catalogToCommand(raw: unknown): Command {
  const record = new FieldReader(raw, 'PDBSYNC_ERR_RECORD_MALFORMED', 'catalog');
  const certname = record.string('certname');
  const producerTimestamp = record.timestamp('producer_timestamp').text;
  const payload = {
    certname,
    version: record.string('version'),
    environment: record.optionalString('environment'),
    transaction_uuid: record.optionalString('transaction_uuid'),
    catalog_uuid: record.optionalString('catalog_uuid'),
    producer_timestamp: producerTimestamp,
    producer: record.optionalString('producer'),
    code_id: record.optionalString('code_id'),
    job_id: record.optionalString('job_id'),
    resources: record.expandedData('resources').map((resource, i) => toResource(resource, `catalog ${certname} resource ${i}`)),
    edges: record.expandedData('edges').map((edge, i) => toEdge(edge, `catalog ${certname} edge ${i}`)),
  };
  return { command: 'replace_catalog', version: 9, certname, producerTimestamp, payload };
}

export const catalogs: Entity = {
  name: 'catalogs',
  logPhase: 'record',
  pullWhenMissing: true,
  remoteSummary: summary,
  localSummary: summary,
  watermark: (remote) => readMax(remote, { query: newest('nodes', 'catalog_timestamp', withAnyNodeState()) }, 'newest catalog'),
  changes,
  counterparts: (source, rows) => summaryOf(source, rows.map((row) => row.certname)),
  recordQuery: (row) => ({ query: from('catalogs', withAnyNodeState(certnameIs(row.certname))) }),
  toCommand: (_row, record) => catalogToCommand(record),
};
