import type { QuerySpec } from '../puppetdb/client.ts';
import type { Command } from '../puppetdb/command.ts';
import { ascendingBy, extract, fieldIn, from, newest, withAnyNodeState, type Ast } from '../puppetdb/query.ts';
import type { PullReason, SummaryRow } from '../types.ts';
import { readMax, submittedTimestamp, type Change, type Entity, type QuerySource } from './entity.ts';
import { FieldReader } from './fields.ts';

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

async function* summary(source: QuerySource, spec = SUMMARY): AsyncGenerator<ExpirationRow> {
  for await (const raw of source.query(spec)) yield parseExpirationSummary(raw);
}

/**
 * Every configured setting, at every incremental pass: it carries the command's time
 * and no receive time, and only nodes whose setting was ever changed are listed. Those
 * unchanged since the last pass need no local lookup.
 */
async function* changes(remote: QuerySource): AsyncGenerator<Change<ExpirationRow>> {
  for await (const row of summary(remote, query(undefined))) yield { row, mark: row.version.time };
}

export function expirationToCommand(row: ExpirationRow, reason: PullReason): Command {
  const producerTimestamp = submittedTimestamp(row.updated, reason, false);
  return {
    command: 'configure_expiration',
    version: 1,
    certname: row.certname,
    producerTimestamp,
    payload: { certname: row.certname, expire: { facts: row.expiresFacts }, producer_timestamp: producerTimestamp },
  };
}

export const factExpiration: Entity<ExpirationRow> = {
  name: 'fact-expiration',
  logPhase: 'record',
  pullWhenMissing: true,
  remoteSummary: (remote) => summary(remote),
  localSummary: (local) => summary(local),
  watermark: (remote) =>
    readMax(remote, { query: newest('nodes', 'expires_facts_updated', withAnyNodeState()), options: { include_facts_expiration: true } }, 'newest facts expiration'),
  changes,
  counterparts: (source, rows) => summary(source, query(fieldIn('certname', rows.map((row) => row.certname)))),
  recordQuery: () => undefined,
  toCommand: (row, _record, reason) => expirationToCommand(row, reason),
};
