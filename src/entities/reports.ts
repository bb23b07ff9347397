import type { QuerySpec } from '../puppetdb/client.ts';
import type { Command } from '../puppetdb/command.ts';
import { ascendingBy, atOrAfter, extract, fieldIn, from, newest, withAnyNodeState, type Ast } from '../puppetdb/query.ts';
import type { SummaryRow, UnreadableRow } from '../types.ts';
import { producedSince, readMax, readRow, receivedSince, type Change, type Entity, type QuerySource, type SummaryContext, type SummarySegment } from './entity.ts';
import { FieldReader, type Timestamp } from './fields.ts';
import { commandPayload } from './command-row.ts';
import { INT16, INT32, RecordReader } from './record-reader.ts';
import { queryTimestamp, readTimestamp } from './timestamps.ts';

/**
 * Reports are kept, not replaced: every report is its own record, keyed by what its
 * producer identified it by (reportKey). One the local server holds is never submitted
 * again; one older than the report-ttl is never pulled (PuppetDB would drop it, or has
 * dropped it on purpose).
 */
export interface ReportRow extends SummaryRow {
  readonly hash: string;
  readonly transactionUuid: string | null;
}

/** Every report type: PuppetDB answers with agent reports only unless the query names the type. */
const EVERY_TYPE = ['null?', 'type', false];

const FIELDS = ['hash', 'certname', 'producer_timestamp', 'transaction_uuid'];

/** How a summary lists reports: the order of their keys (reportKey). */
const KEY_ORDER = ['producer_timestamp', 'transaction_uuid', 'certname', 'hash'];

/**
 * A report's key: its producer_timestamp, transaction_uuid and certname, which name
 * it whatever hash a server computed for it (PuppetDB has changed its hashes between
 * versions); a report without a transaction_uuid is keyed by its hash as well. The
 * parts are joined by NUL, which no part holds, and a missing transaction_uuid sorts
 * last, as PostgreSQL sorts NULL: keys ascend as KEY_ORDER lists the reports.
 */
export function reportKey(producerTimestamp: Timestamp, transactionUuid: string | null, certname: string, hash: string): string {
  // PuppetDB writes every time as toISOString does: its text is used as it is. Built
  // by concatenation: a key is made for every summary row (2.4 million in a
  // reconciliation at fleet scale), and an array join or a Date cost microseconds each.
  const time = isCanonical(producerTimestamp.text) ? producerTimestamp.text : new Date(producerTimestamp.ms).toISOString();
  return transactionUuid === null ? time + '\u0000\uffff\u0000' + certname + '\u0000' + hash : time + '\u0000' + transactionUuid + '\u0000' + certname + '\u0000';
}

/** `2026-11-21T10:00:00.000Z`, as toISOString writes a year 0000-9999. */
function isCanonical(text: string): boolean {
  return text.length === 24 && text.charCodeAt(23) === 90 && text.charCodeAt(19) === 46 && text.charCodeAt(10) === 84;
}

/** The key of a row that could not be read, if its parts can be. */
function keyOfUnreadable(fields: Readonly<Record<string, unknown>>): string | undefined {
  const { hash, certname, producer_timestamp: time, transaction_uuid: uuid } = fields;
  if (typeof hash !== 'string' || typeof certname !== 'string' || typeof time !== 'string' || (uuid !== null && typeof uuid !== 'string')) return undefined;
  const ms = readTimestamp(time);
  return ms === undefined ? undefined : reportKey({ text: time, ms }, uuid, certname, hash);
}

function everyType(filter: Ast): Ast {
  return withAnyNodeState(['and', EVERY_TYPE, filter]);
}

function newerThan(cutoff: number): Ast {
  return ['>', 'producer_timestamp', queryTimestamp(cutoff)];
}

function summaryQuery(cutoff: number, segment: SummarySegment | undefined): QuerySpec {
  const within = segment ? ['and', newerThan(cutoff), atOrAfter('producer_timestamp', queryTimestamp(segment.from)), ...(Number.isFinite(segment.to) ? [['<', 'producer_timestamp', queryTimestamp(segment.to)]] : [])] : newerThan(cutoff);
  return { query: from('reports', extract(FIELDS, everyType(within))), options: ascendingBy(...KEY_ORDER) };
}

/** About as many rows as one reconciliation query lists: a few seconds of a PuppetDB's time. */
const SEGMENT_ROWS = 100_000;

const PER_DAY = ['function', 'to_string', 'producer_timestamp', 'YYYY-MM-DD'];

/**
 * A reconciliation lists reports in parts of whole days (PuppetDB partitions them by
 * day) of about SEGMENT_ROWS on the remote, from its count per day: no query sorts the
 * whole history, and the pass can rest between parts. The parts cover everything from
 * the cutoff on, the newest one open-ended, whatever time zone the counts were made in;
 * newest first.
 */
async function segments(remote: QuerySource, context: SummaryContext): Promise<SummarySegment[]> {
  const cutoff = reportCutoff(context, 'remote');
  const perDay: Array<[number, number]> = [];
  const query = from('reports', ['extract', [['function', 'count'], PER_DAY], everyType(newerThan(cutoff)), ['group_by', PER_DAY]]);
  for await (const raw of remote.query({ query })) {
    // A count that cannot be read only makes the parts less even: they cover every day whatever the counts.
    const { to_string: text, count } = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const day = typeof text === 'string' ? readTimestamp(`${text}T00:00:00.000Z`) : undefined;
    if (day !== undefined && Number.isInteger(count)) perDay.push([day, count as number]);
  }
  perDay.sort((a, b) => a[0] - b[0]);
  const parts: SummarySegment[] = [];
  let start = cutoff;
  let rows = 0;
  for (const [day, count] of perDay) {
    if (rows > 0 && rows + count > SEGMENT_ROWS && day > start) {
      parts.push({ from: start, to: day, rows });
      start = day;
      rows = 0;
    }
    rows += count;
  }
  parts.push({ from: start, to: Number.POSITIVE_INFINITY, rows });
  // Newest first: a catch-up of days brings the reports that matter most first.
  return parts.reverse();
}

/** The oldest producer_timestamp a pass looks at; on the first pass also initial-report-threshold. */
export function reportCutoff(context: SummaryContext, side: 'remote' | 'local'): number {
  const { now, firstPass, settings } = context;
  const ttlCutoff = now - settings.reportTtlMs;
  if (side === 'local' || !firstPass || settings.initialReportThresholdMs === 0) return ttlCutoff;
  return Math.max(ttlCutoff, now - settings.initialReportThresholdMs);
}

export function parseReportSummary(raw: unknown): ReportRow {
  const row = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'report summary row');
  const hash = row.string('hash');
  const certname = row.string('certname');
  const produced = row.timestamp('producer_timestamp');
  const time = produced.ms;
  const transactionUuid = row.optionalString('transaction_uuid');
  return {
    key: reportKey(produced, transactionUuid, certname, hash),
    hash,
    transactionUuid,
    certname,
    // Rows of one key are of one identity, then: in step whatever their hashes.
    version: { time, tieBreak: [hash], ...(transactionUuid !== null && { identity: transactionUuid }) },
  };
}

function summary(side: 'remote' | 'local') {
  return async function* (source: QuerySource, context: SummaryContext, segment?: SummarySegment): AsyncGenerator<ReportRow | UnreadableRow> {
    for await (const raw of source.query(summaryQuery(reportCutoff(context, side), segment))) yield readRow(raw, parseReportSummary, keyOfUnreadable);
  };
}

/**
 * `receive_time` is when the server received the report, on its own clock, and is not
 * indexed; reports are partitioned by day on producer_timestamp, so the late-arrival
 * window bounds the partitions PostgreSQL reads.
 */
function parseReportChange(raw: unknown): Change<ReportRow> {
  const received = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'report change row').timestamp('receive_time');
  return { row: parseReportSummary(raw), mark: received.ms };
}

/** Received since `since` (with the overlap), and, unless `relayed`, produced within the late-arrival window of it. */
function changesSince(relayed: boolean) {
  return async function* (remote: QuerySource, since: number | null, context: SummaryContext): AsyncGenerator<Change<ReportRow> | UnreadableRow> {
    const cutoff = newerThan(reportCutoff(context, 'remote'));
    const recent = relayed || since === null ? [] : [atOrAfter('producer_timestamp', producedSince(since, context.settings))];
    const filter = since === null ? cutoff : ['and', cutoff, ...recent, atOrAfter('receive_time', receivedSince(since, context.settings))];
    for await (const raw of remote.query({ query: from('reports', extract([...FIELDS, 'receive_time'], everyType(filter))) })) yield readRow(raw, parseReportChange, keyOfUnreadable);
  };
}

/**
 * By transaction_uuid (by hash for reports without one), within the batch's producer
 * times: PostgreSQL then reads only those days' partitions.
 */
async function* counterparts(source: QuerySource, rows: readonly ReportRow[]): AsyncGenerator<ReportRow | UnreadableRow> {
  const times = rows.map((row) => row.version.time);
  const uuids = rows.flatMap((row) => row.transactionUuid ?? []);
  const hashes = rows.flatMap((row) => (row.transactionUuid === null ? row.hash : []));
  const named = [...(uuids.length > 0 ? [fieldIn('transaction_uuid', uuids)] : []), ...(hashes.length > 0 ? [fieldIn('hash', hashes)] : [])];
  const within = ['and', named.length === 1 ? named[0]! : ['or', ...named], atOrAfter('producer_timestamp', queryTimestamp(Math.min(...times))), ['<=', 'producer_timestamp', queryTimestamp(Math.max(...times))]];
  for await (const raw of source.query({ query: from('reports', extract(FIELDS, everyType(within))) })) yield readRow(raw, parseReportSummary, keyOfUnreadable);
}

/**
 * store_report v5-v8: keyed by transaction_uuid, as every server lists it. A report
 * without one is keyed by a hash only PuppetDB computes: its row matches no server's,
 * so it is always submitted, and PuppetDB, which stores one report per hash, keeps it once.
 */
export function reportCommandRow(command: Command): ReportRow | undefined {
  const payload = commandPayload(command, 'store_report', [5, 6, 7, 8]);
  if (!payload) return undefined;
  const [certname, produced, transactionUuid] = [payload.certname(), payload.producerTimestamp(), payload.optionalString('transaction_uuid')];
  return { key: reportKey(produced, transactionUuid, certname, ''), hash: '', transactionUuid, certname, version: { time: produced.ms, tieBreak: [''], ...(transactionUuid !== null && { identity: transactionUuid }) } };
}

function watermark(remote: QuerySource, context: SummaryContext): Promise<number | null> {
  return readMax(remote, { query: newest('reports', 'receive_time', everyType(newerThan(reportCutoff(context, 'remote')))) }, 'newest report');
}

const HEADER_STRINGS = ['puppet_version', 'configuration_version', 'environment'] as const;
const HEADER_OPTIONAL_STRINGS = ['producer', 'transaction_uuid', 'catalog_uuid', 'code_id', 'job_id', 'cached_catalog_status', 'status'] as const;
const HEADER_OPTIONAL_BOOLEANS = ['noop', 'noop_pending', 'corrective_change'] as const;
const REPORT_TYPES = new Set(['agent', 'plan']);

interface WireResource {
  readonly resource_type: string;
  readonly resource_title: string;
  readonly file: string | null;
  readonly line: number | null;
  readonly containment_path: string[];
  readonly timestamp: string;
  readonly skipped: boolean;
  readonly corrective_change: null;
  readonly events: Record<string, unknown>[];
}

/**
 * PuppetDB stores events, not resources: the resources of the report are rebuilt by
 * grouping its events by resource (type, title, file, line, containment path and
 * time), in the order they come, as PuppetDB's own export does. A skipped event
 * means a skipped resource. Resources without events were never stored.
 */
export function eventsToResources(events: readonly unknown[], what: string): WireResource[] {
  const resources = new Map<string, WireResource>();
  events.forEach((raw, i) => {
    const event = new RecordReader(raw, `${what} event ${i}`);
    const status = event.string('status');
    const resource = {
      resource_type: event.string('resource_type'),
      resource_title: event.string('resource_title'),
      file: event.optionalString('file'),
      line: event.optionalInteger('line', INT32),
      containment_path: event.stringArray('containment_path'),
      timestamp: event.timestamp('timestamp').text,
    };
    const key = JSON.stringify(resource);
    const group = resources.get(key) ?? { ...resource, skipped: false, corrective_change: null, events: [] };
    resources.set(key, group);
    if (status === 'skipped') resources.set(key, { ...group, skipped: true });
    resources.get(key)!.events.push({
      status,
      timestamp: resource.timestamp,
      property: event.optionalString('property'),
      new_value: event.freeForm('new_value', event.raw('new_value') ?? null),
      old_value: event.freeForm('old_value', event.raw('old_value') ?? null),
      message: event.optionalString('message'),
      corrective_change: event.optionalBoolean('corrective_change'),
      name: event.optionalString('name'),
    });
  });
  return [...resources.values()];
}

/** A reports query row (logs, metrics and resource events inline) -> store_report v8 payload, if it is the report `row` names. */
export function reportToCommand(row: ReportRow, raw: unknown): Command {
  const record = new RecordReader(raw, 'report');
  const certname = record.certname();
  const hash = record.string('hash');
  record.matchesRow('hash', hash, row.hash);
  const producerTimestamp = record.timestamp('producer_timestamp');
  record.matchesRow('producer_timestamp', producerTimestamp, row.version.time);
  const what = `report ${certname} ${hash}`;
  const reportFormat = record.integer('report_format', INT16);
  const type = record.optionalString('type') ?? 'agent';
  if (!REPORT_TYPES.has(type)) throw record.fail(`type ${type} is neither agent nor plan`);

  const payload: Record<string, unknown> = {
    certname,
    report_format: reportFormat,
    start_time: record.timestamp('start_time').text,
    end_time: record.timestamp('end_time').text,
    producer_timestamp: producerTimestamp.text,
    type,
  };
  for (const field of HEADER_STRINGS) payload[field] = record.string(field);
  for (const field of HEADER_OPTIONAL_STRINGS) payload[field] = record.optionalString(field);
  for (const field of HEADER_OPTIONAL_BOOLEANS) payload[field] = record.optionalBoolean(field);
  payload.metrics = record.expandedData('metrics').map((raw, i) => {
    const metric = new RecordReader(raw, `${what} metric ${i}`);
    return { category: metric.string('category'), name: metric.string('name'), value: metric.number('value') };
  });
  payload.logs = record.expandedData('logs').map((raw, i) => {
    const log = new RecordReader(raw, `${what} log ${i}`);
    return {
      file: log.optionalString('file'),
      line: log.optionalInteger('line', INT32),
      level: log.string('level'),
      message: log.string('message'),
      source: log.string('source'),
      tags: log.stringArray('tags'),
      time: log.timestamp('time').text,
    };
  });
  payload.resources = eventsToResources(record.expandedData('resource_events'), what);
  return { command: 'store_report', version: 8, certname, producerTimestamp: producerTimestamp.text, payload };
}

export const reports: Entity<ReportRow> = {
  name: 'reports',
  logPhase: 'record',
  pullWhenMissing: true,
  // Rows of one key are one report (its identity): reports never tie.
  tiesByContent: false,
  keptByReportTtl: true,
  segments,
  remoteSummary: summary('remote'),
  localSummary: summary('local'),
  watermark,
  changes: changesSince(false),
  relayedChanges: changesSince(true),
  counterparts,
  logFields: (row) => ({ hash: row.hash }),
  recordQuery: (row) => ({ query: from('reports', everyType(['=', 'hash', row.hash])) }),
  commandRow: reportCommandRow,
  toCommand: (row, record) => reportToCommand(row, record),
};
