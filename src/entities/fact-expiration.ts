import type { QuerySpec } from '../puppetdb/client.ts';
import type { Command } from '../puppetdb/command.ts';
import { ascendingBy, extract, fieldIn, from, newest, withAnyNodeState, type Ast } from '../puppetdb/query.ts';
import type { PullReason, SummaryRow, UnreadableRow } from '../types.ts';
import { isUnreadable, readMax, readRow, submittedTimestamp, type Change, type Entity, type QuerySource } from './entity.ts';
import { FieldReader } from './fields.ts';
import { commandPayload } from './command-row.ts';
import { RecordReader } from './record-reader.ts';

/**
 * Facts-expiration settings (configure_expiration): a node set not to expire its
 * facts on one server is set so on every server. Only nodes whose setting was ever
 * configured have an update time; the rest use PuppetDB's default and are left alone.
 */
export interface ExpirationRow extends SummaryRow {
  readonly expiresFacts: boolean;
  readonly updated: string;
}

const CONFIGURED = ['null?', 'expires_facts_updated', false];

/** The nodes endpoint answers the expiration fields only when asked. */
function query(filter: Ast | undefined, options: Readonly<Record<string, unknown>> = {}): QuerySpec {
  const fields = ['certname', 'expires_facts', 'expires_facts_updated'];
  const configured = withAnyNodeState(filter ? ['and', CONFIGURED, filter] : CONFIGURED);
  return { query: from('nodes', extract(fields, configured)), options: { include_facts_expiration: true, ...options } };
}

const SUMMARY = query(undefined, ascendingBy('certname'));

export function parseExpirationSummary(raw: unknown): ExpirationRow {
  const row = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'facts expiration row');
  const certname = row.string('certname');
  const expiresFacts = row.raw('expires_facts');
  if (typeof expiresFacts !== 'boolean') throw row.fail('expires_facts is not a boolean');
  const updated = row.timestamp('expires_facts_updated');
  return { key: certname, certname, expiresFacts, updated: updated.text, version: { time: updated.ms, tieBreak: [String(expiresFacts)] } };
}

/** configure_expiration v1: the setting is the whole record. */
export function expirationCommandRow(command: Command): ExpirationRow | undefined {
  const payload = commandPayload(command, 'configure_expiration', [1]);
  if (!payload) return undefined;
  const certname = payload.certname();
  const updated = payload.producerTimestamp();
  const expiresFacts = new FieldReader(payload.raw('expire'), 'PDBSYNC_ERR_RECORD_MALFORMED', `configure_expiration for ${certname}: expire`).raw('facts');
  if (typeof expiresFacts !== 'boolean') throw payload.fail('expire.facts is not a boolean');
  return { key: certname, certname, expiresFacts, updated: updated.text, version: { time: updated.ms, tieBreak: [String(expiresFacts)] } };
}

async function* summary(source: QuerySource, spec = SUMMARY): AsyncGenerator<ExpirationRow | UnreadableRow> {
  for await (const raw of source.query(spec)) yield readRow(raw, parseExpirationSummary, 'certname');
}

/**
 * Every configured setting, at every incremental pass: it carries the command's time
 * and no receive time, and only nodes whose setting was ever changed are listed. Those
 * unchanged since the last pass need no local lookup.
 */
async function* changes(remote: QuerySource): AsyncGenerator<Change<ExpirationRow> | UnreadableRow> {
  for await (const row of summary(remote, query(undefined))) yield isUnreadable(row) ? row : { row, mark: row.version.time };
}

/** The remote's summary row is the whole record: it is read again as one, strictly. */
export function expirationToCommand(row: ExpirationRow, reason: PullReason): Command {
  const record = new RecordReader({ certname: row.certname, expires_facts_updated: row.updated }, 'facts expiration');
  const certname = record.certname();
  const producerTimestamp = submittedTimestamp(record.timestamp('expires_facts_updated'), reason, false);
  return {
    command: 'configure_expiration',
    version: 1,
    certname,
    producerTimestamp,
    payload: { certname, expire: { facts: row.expiresFacts }, producer_timestamp: producerTimestamp },
  };
}

export const factExpiration: Entity<ExpirationRow> = {
  name: 'fact-expiration',
  logPhase: 'record',
  pullWhenMissing: true,
  // The summary row is the whole setting: the greater one wins a tie.
  tiesByContent: false,
  remoteSummary: (remote) => summary(remote),
  localSummary: (local) => summary(local),
  watermark: (remote) =>
    readMax(remote, { query: newest('nodes', 'expires_facts_updated', withAnyNodeState()), options: { include_facts_expiration: true } }, 'newest facts expiration'),
  changes,
  counterparts: (source, rows) => summary(source, query(fieldIn('certname', rows.map((row) => row.certname)))),
  recordQuery: () => undefined,
  commandRow: expirationCommandRow,
  toCommand: (row, _record, reason) => expirationToCommand(row, reason),
};
