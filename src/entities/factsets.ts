import type { QuerySpec } from '../puppetdb/client.ts';
import type { Command } from '../puppetdb/command.ts';
import { ascendingBy, atOrAfter, certnameIs, extract, fieldIn, from, newest, withAnyNodeState } from '../puppetdb/query.ts';
import type { SummaryRow, UnreadableRow } from '../types.ts';
import { readMax, readRow, receivedSince, type Change, type Entity, type QuerySource, type SummaryContext } from './entity.ts';
import { FieldReader, quoted } from './fields.ts';
import { commandPayload } from './command-row.ts';
import { RecordReader } from './record-reader.ts';

export interface FactsetRow extends SummaryRow {
  readonly hash: string;
  readonly producerTimestamp: string;
}

const FIELDS = ['certname', 'hash', 'producer_timestamp', 'producer'];

const SUMMARY: QuerySpec = { query: from('factsets', extract(FIELDS, withAnyNodeState())), options: ascendingBy('certname') };

export function parseFactsetSummary(raw: unknown): FactsetRow {
  const row = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'factset summary row');
  const certname = row.string('certname');
  const hash = row.string('hash');
  const producerTimestamp = row.timestamp('producer_timestamp');
  const producer = row.optionalString('producer');
  // The tie-break is a fingerprint, not what wins a tie (ties go by content): the hash
  // is the server's own, which PuppetDB versions compute otherwise for the same content,
  // and it leaves out the producer, added beside it. Equal rows are the same factset;
  // rows that differ at one time are compared by their content.
  return { key: certname, certname, hash, producerTimestamp: producerTimestamp.text, version: { time: producerTimestamp.ms, tieBreak: [hash, producer ?? ''] } };
}

/** replace_facts v4 (no producer) and v5: the factset's row, its server hash unknown. */
export function factsetCommandRow(command: Command): FactsetRow | undefined {
  const payload = commandPayload(command, 'replace_facts', [4, 5]);
  if (!payload) return undefined;
  const certname = payload.certname();
  const producerTimestamp = payload.producerTimestamp();
  return { key: certname, certname, hash: '', producerTimestamp: producerTimestamp.text, version: { time: producerTimestamp.ms, tieBreak: ['', payload.optionalString('producer') ?? ''] } };
}

async function* summary(source: QuerySource): AsyncGenerator<FactsetRow | UnreadableRow> {
  for await (const raw of source.query(SUMMARY)) yield readRow(raw, parseFactsetSummary, 'certname');
}

function parseFactsetChange(raw: unknown): Change<FactsetRow> {
  const received = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'factset change row').timestamp('timestamp');
  return { row: parseFactsetSummary(raw), mark: received.ms };
}

/** `timestamp` is when the server received the factset, on its own clock. */
async function* changes(remote: QuerySource, since: number | null, context: SummaryContext): AsyncGenerator<Change<FactsetRow> | UnreadableRow> {
  const filter = since === null ? withAnyNodeState() : withAnyNodeState(atOrAfter('timestamp', receivedSince(since, context.settings)));
  for await (const raw of remote.query({ query: from('factsets', extract([...FIELDS, 'timestamp'], filter)) })) yield readRow(raw, parseFactsetChange, 'certname');
}

async function* counterparts(source: QuerySource, rows: readonly FactsetRow[]): AsyncGenerator<FactsetRow | UnreadableRow> {
  const filter = withAnyNodeState(fieldIn('certname', rows.map((row) => row.certname)));
  for await (const raw of source.query({ query: from('factsets', extract(FIELDS, filter)) })) yield readRow(raw, parseFactsetSummary, 'certname');
}

type PackageTuple = readonly [string, string, string];

function comparePackages(a: PackageTuple, b: PackageTuple): number {
  for (let i = 0; i < 3; i++) {
    if (a[i]! !== b[i]!) return a[i]! < b[i]! ? -1 : 1;
  }
  return 0;
}

/** A factsets query row and its package_inventory query rows -> replace_facts v5 payload, if it is the factset `row` names. */
export function factsetToCommand(row: FactsetRow, raw: unknown, packageRows: readonly unknown[]): Command {
  const record = new RecordReader(raw, 'factset');
  const certname = record.certname();
  const producerTimestamp = record.timestamp('producer_timestamp');
  record.matchesRow('producer_timestamp', producerTimestamp, row.version.time);
  record.matchesRow('hash', record.string('hash'), row.hash);

  const facts = record.raw('facts') as { data?: unknown } | null | undefined;
  if (!facts || !Array.isArray(facts.data)) throw record.fail('facts.data is not an array');
  const values: Record<string, unknown> = {};
  for (const fact of facts.data) {
    const name = new RecordReader(fact, `factset ${certname} fact`).string('name');
    if (Object.hasOwn(values, name)) throw record.fail(`fact ${quoted(name)} appears twice`);
    const value = record.freeForm(`fact ${quoted(name)}`, (fact as { value: unknown }).value);
    Object.defineProperty(values, name, { value, enumerable: true, writable: true });
  }

  const payload: Record<string, unknown> = {
    certname,
    environment: record.optionalString('environment'),
    producer_timestamp: producerTimestamp.text,
    producer: record.optionalString('producer'),
    values,
  };
  const packages = packageRows.map((raw): PackageTuple => {
    const inventory = new RecordReader(raw, `factset ${certname} package`);
    return [inventory.string('package_name'), inventory.string('version'), inventory.string('provider')];
  });
  // Sorted so that the payload does not depend on the order PostgreSQL returned them in.
  if (packages.length > 0) payload.package_inventory = packages.sort(comparePackages);
  return { command: 'replace_facts', version: 5, certname, producerTimestamp: producerTimestamp.text, payload };
}

export const factsets: Entity<FactsetRow> = {
  name: 'factsets',
  logPhase: 'record',
  pullWhenMissing: true,
  tiesByContent: true,
  remoteSummary: summary,
  localSummary: summary,
  watermark: (remote) => readMax(remote, { query: newest('factsets', 'timestamp', withAnyNodeState()) }, 'newest factset'),
  changes,
  counterparts,
  recordQuery: (row) => ({ query: from('factsets', withAnyNodeState(certnameIs(row.certname))) }),
  // include_package_inventory makes PuppetDB 7 aggregate the inventory of every node
  // for each factset (0.1 s idle, 0.3-0.6 s under load at 200 nodes); the
  // package_inventory query reads one node's packages only.
  recordListQueries: (row) => ({
    packages: { query: from('package_inventory', extract(['package_name', 'version', 'provider'], withAnyNodeState(certnameIs(row.certname)))) },
  }),
  commandRow: factsetCommandRow,
  toCommand: (row, record, _reason, lists) => factsetToCommand(row, record, lists.packages ?? []),
};
