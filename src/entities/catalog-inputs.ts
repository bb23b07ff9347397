import type { QuerySpec } from '../puppetdb/client.ts';
import type { Command } from '../puppetdb/command.ts';
import { ascendingBy, atOrAfter, certnameIs, extract, fieldIn, from, newest, withAnyNodeState, type Ast } from '../puppetdb/query.ts';
import type { PullReason, SummaryRow, UnreadableRow } from '../types.ts';
import { isUnreadable, producedSince, readMax, readRow, submittedTimestamp, type Change, type Entity, type QuerySource, type SummaryContext } from './entity.ts';
import { FieldReader } from './fields.ts';
import { commandPayload } from './command-row.ts';
import { RecordReader } from './record-reader.ts';

/** The inputs (hiera keys, ...) a catalog was compiled from, one set per node. */
const FIELDS = ['certname', 'producer_timestamp', 'catalog_uuid'];

const SUMMARY: QuerySpec = { query: from('catalog_inputs', extract(FIELDS, withAnyNodeState())), options: ascendingBy('certname') };

export function parseCatalogInputsSummary(raw: unknown): SummaryRow {
  const row = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'catalog inputs summary row');
  const certname = row.string('certname');
  // The inputs belong to one compilation: its catalog_uuid is their fingerprint, and
  // inputs of two compilations at one time are a tie their content decides.
  return { key: certname, certname, version: { time: row.timestamp('producer_timestamp').ms, tieBreak: [row.optionalString('catalog_uuid') ?? ''] } };
}

/** replace_catalog_inputs v1: the row is the command's time and its compilation. */
export function catalogInputsCommandRow(command: Command): SummaryRow | undefined {
  const payload = commandPayload(command, 'replace_catalog_inputs', [1]);
  if (!payload) return undefined;
  const certname = payload.certname();
  return { key: certname, certname, version: { time: payload.producerTimestamp().ms, tieBreak: [payload.optionalString('catalog_uuid') ?? ''] } };
}

async function* summary(source: QuerySource): AsyncGenerator<SummaryRow | UnreadableRow> {
  for await (const raw of source.query(SUMMARY)) yield readRow(raw, parseCatalogInputsSummary, 'certname');
}

async function* rows(source: QuerySource, filter: Ast): AsyncGenerator<SummaryRow | UnreadableRow> {
  for await (const raw of source.query({ query: from('catalog_inputs', extract(FIELDS, withAnyNodeState(filter))) })) {
    yield readRow(raw, parseCatalogInputsSummary, 'certname');
  }
}

/** Catalog inputs carry no receive time: their producer_timestamp, within the late-arrival window, is the watermark. */
async function* changes(remote: QuerySource, since: number | null, context: SummaryContext): AsyncGenerator<Change | UnreadableRow> {
  const filter = since === null ? ['null?', 'producer_timestamp', false] : atOrAfter('producer_timestamp', producedSince(since, context.settings));
  for await (const row of rows(remote, filter)) yield isUnreadable(row) ? row : { row, mark: row.version.time };
}

function compareInputs(a: readonly [string, string], b: readonly [string, string]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  return a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1;
}

/** A catalog_inputs query row -> replace_catalog_inputs v1 payload, if it is the inputs `row` names. */
export function catalogInputsToCommand(row: SummaryRow, raw: unknown, reason: PullReason): Command {
  const record = new RecordReader(raw, 'catalog inputs');
  const certname = record.certname();
  const produced = record.timestamp('producer_timestamp');
  record.matchesRow('producer_timestamp', produced, row.version.time);
  const producerTimestamp = submittedTimestamp(produced, reason, false);
  const inputs = record.raw('inputs');
  if (!Array.isArray(inputs)) throw record.fail('inputs is not an array');
  const pairs = inputs.map((input: unknown, i): readonly [string, string] => {
    if (!Array.isArray(input) || input.length !== 2 || !input.every((part) => typeof part === 'string')) throw record.fail(`input ${i} is not [type, name]`);
    return [record.text(`input ${i} type`, input[0] as string), record.text(`input ${i} name`, input[1] as string)];
  });
  const payload = {
    certname,
    producer_timestamp: producerTimestamp,
    catalog_uuid: record.optionalString('catalog_uuid'),
    // Sorted so that the payload does not depend on the order PostgreSQL aggregated them in.
    inputs: pairs.sort(compareInputs),
  };
  return { command: 'replace_catalog_inputs', version: 1, certname, producerTimestamp, payload };
}

export const catalogInputs: Entity = {
  name: 'catalog-inputs',
  logPhase: 'record',
  pullWhenMissing: true,
  tiesByContent: true,
  remoteSummary: summary,
  localSummary: summary,
  watermark: (remote) => readMax(remote, { query: newest('catalog_inputs', 'producer_timestamp', withAnyNodeState()) }, 'newest catalog inputs'),
  changes,
  // No receive time to go by: every node's inputs, of which those in step need no lookup.
  relayedChanges: (remote, _since, context) => changes(remote, null, context),
  counterparts: (source, batch) => rows(source, fieldIn('certname', batch.map((row) => row.certname))),
  recordQuery: (row) => ({ query: from('catalog_inputs', withAnyNodeState(certnameIs(row.certname))) }),
  commandRow: catalogInputsCommandRow,
  toCommand: (row, record, reason) => catalogInputsToCommand(row, record, reason),
};
