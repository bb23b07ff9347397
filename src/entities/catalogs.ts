import type { QuerySpec } from '../puppetdb/client.ts';
import type { Command } from '../puppetdb/command.ts';
import { ascendingBy, atOrAfter, certnameIs, certnameOfNodes, extract, fieldIn, from, newest, withAnyNodeState } from '../puppetdb/query.ts';
import type { SummaryRow, UnreadableRow } from '../types.ts';
import { isUnreadable, readMax, readRow, receivedSince, type Change, type Entity, type QuerySource, type SummaryContext } from './entity.ts';
import { FieldReader } from './fields.ts';
import { commandPayload } from './command-row.ts';
import { INT32, RecordReader } from './record-reader.ts';

export interface CatalogRow extends SummaryRow {
  readonly hash: string;
}

/**
 * PuppetDB's catalog hash covers only certname, resources and edges, so two catalogs
 * with equal hashes may still differ in their metadata: every metadata field is part of
 * the fingerprint, and equal rows are equal in all of them. Rows that differ at one
 * time are a tie, which the catalogs' content decides (a catalog_uuid names a
 * compilation, not its content).
 */
const METADATA = ['catalog_uuid', 'transaction_uuid', 'version', 'code_id', 'job_id', 'environment', 'producer'] as const;

const FIELDS = ['certname', 'hash', 'producer_timestamp', ...METADATA];

const SUMMARY: QuerySpec = { query: from('catalogs', extract(FIELDS, withAnyNodeState())), options: ascendingBy('certname') };

export function parseCatalogSummary(raw: unknown): CatalogRow {
  const row = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'catalog summary row');
  const certname = row.string('certname');
  const hash = row.string('hash');
  const producerTimestamp = row.timestamp('producer_timestamp');
  return { key: certname, certname, hash, version: { time: producerTimestamp.ms, tieBreak: [hash, ...METADATA.map((field) => row.optionalString(field) ?? '')] } };
}

/** replace_catalog v6-v9: the catalog's row, its server hash unknown; metadata a version lacks is empty, as a server lists it. */
export function catalogCommandRow(command: Command): CatalogRow | undefined {
  const payload = commandPayload(command, 'replace_catalog', [6, 7, 8, 9]);
  if (!payload) return undefined;
  const certname = payload.certname();
  const time = payload.producerTimestamp().ms;
  return { key: certname, certname, hash: '', version: { time, tieBreak: ['', ...METADATA.map((field) => payload.optionalString(field) ?? '')] } };
}

async function* summary(source: QuerySource): AsyncGenerator<CatalogRow | UnreadableRow> {
  for await (const raw of source.query(SUMMARY)) yield readRow(raw, parseCatalogSummary, 'certname');
}

async function* summaryOf(source: QuerySource, certnames: readonly string[]): AsyncGenerator<CatalogRow | UnreadableRow> {
  const filter = withAnyNodeState(fieldIn('certname', certnames));
  for await (const raw of source.query({ query: from('catalogs', extract(FIELDS, filter)) })) yield readRow(raw, parseCatalogSummary, 'certname');
}

const newestCatalog = (remote: QuerySource) => readMax(remote, { query: newest('nodes', 'catalog_timestamp', withAnyNodeState()) }, 'newest catalog');

/**
 * The catalogs endpoint has no receive time: the nodes endpoint's catalog_timestamp is
 * when the server stored the node's catalog, on its own clock. One query lists the
 * summaries of the catalogs whose node's catalog_timestamp is in the window, through a
 * select_nodes subquery: asking for them by certname in batches of 500 cost PuppetDB
 * about 190 ms a batch at 100,000 nodes, the subquery 190 ms for 6,000 rows. The rows
 * carry no receive time of their own, so each stands for the newest catalog_timestamp
 * read just before the list: a catalog stored after that read is at or after it less
 * the overlap, which the next pass lists.
 */
async function* changes(remote: QuerySource, since: number | null, context: SummaryContext): AsyncGenerator<Change<CatalogRow> | UnreadableRow> {
  const mark = await newestCatalog(remote);
  if (mark === null) return;
  const filter = since === null ? withAnyNodeState() : withAnyNodeState(certnameOfNodes(withAnyNodeState(atOrAfter('catalog_timestamp', receivedSince(since, context.settings)))));
  for await (const raw of remote.query({ query: from('catalogs', extract(FIELDS, filter)) })) {
    const row = readRow(raw, parseCatalogSummary, 'certname');
    yield isUnreadable(row) ? row : { row, mark };
  }
}

interface ResourceRef {
  readonly type: string;
  readonly title: string;
}

type Resource = ResourceRef & { readonly tags: readonly string[]; readonly [field: string]: unknown };

interface Edge {
  readonly source: ResourceRef;
  readonly target: ResourceRef;
  readonly relationship: string;
}

function toResource(raw: unknown, what: string): Resource {
  const resource = new RecordReader(raw, what);
  const exported = resource.boolean('exported');
  const parameters = resource.raw('parameters');
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) throw resource.fail('parameters is not an object');
  resource.freeForm('parameters', parameters);
  const line = resource.optionalInteger('line', INT32);
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

function toEdge(raw: unknown, what: string): Edge {
  const edge = new RecordReader(raw, what);
  return {
    source: { type: edge.string('source_type'), title: edge.string('source_title') },
    target: { type: edge.string('target_type'), title: edge.string('target_title') },
    relationship: edge.string('relationship'),
  };
}

/** A catalogs query row (resources and edges inline) -> replace_catalog v9 payload, if it is the catalog `row` names. */
export function catalogToCommand(row: CatalogRow, raw: unknown): Command {
  const record = new RecordReader(raw, 'catalog');
  const certname = record.certname();
  const producerTimestamp = record.timestamp('producer_timestamp');
  record.matchesRow('producer_timestamp', producerTimestamp, row.version.time);
  record.matchesRow('hash', record.string('hash'), row.hash);
  const payload = {
    certname,
    version: record.string('version'),
    environment: record.optionalString('environment'),
    transaction_uuid: record.optionalString('transaction_uuid'),
    catalog_uuid: record.optionalString('catalog_uuid'),
    producer_timestamp: producerTimestamp.text,
    producer: record.optionalString('producer'),
    code_id: record.optionalString('code_id'),
    job_id: record.optionalString('job_id'),
    resources: record.expandedData('resources').map((resource, i) => toResource(resource, `catalog ${certname} resource ${i}`)),
    edges: record.expandedData('edges').map((edge, i) => toEdge(edge, `catalog ${certname} edge ${i}`)),
  };
  return { command: 'replace_catalog', version: 9, certname, producerTimestamp: producerTimestamp.text, payload };
}

const compareText = (a: string, b: string): number => (a === b ? 0 : a < b ? -1 : 1);

const compareRefs = (a: ResourceRef, b: ResourceRef): number => compareText(a.type, b.type) || compareText(a.title, b.title);

const compareEdges = (a: Edge, b: Edge): number => compareRefs(a.source, b.source) || compareRefs(a.target, b.target) || compareText(a.relationship, b.relationship);

/**
 * A catalog's content, for a content tie: PuppetDB keeps resources and edges as rows
 * and a resource's tags as a set, and lists them in no set order, so they are sorted.
 */
export function catalogTieContent(command: Command): unknown {
  const payload = command.payload as { readonly resources: readonly Resource[]; readonly edges: readonly Edge[] };
  return {
    ...payload,
    resources: payload.resources.map((resource) => ({ ...resource, tags: [...resource.tags].sort() })).sort(compareRefs),
    edges: [...payload.edges].sort(compareEdges),
  };
}

export const catalogs: Entity<CatalogRow> = {
  name: 'catalogs',
  logPhase: 'record',
  pullWhenMissing: true,
  tiesByContent: true,
  remoteSummary: summary,
  localSummary: summary,
  watermark: newestCatalog,
  changes,
  counterparts: (source, rows) => summaryOf(source, rows.map((row) => row.certname)),
  recordQuery: (row) => ({ query: from('catalogs', withAnyNodeState(certnameIs(row.certname))) }),
  commandRow: catalogCommandRow,
  toCommand: (row, record) => catalogToCommand(row, record),
  tieContent: catalogTieContent,
};
