import type { Command, QuerySpec } from '../puppetdb/client.ts';
import { ascendingBy, extract, from, withAnyNodeState } from '../puppetdb/query.ts';
import type { PullReason } from '../sync/precedence.ts';
import { submittedTimestamp, type Entity, type QuerySource, type SummaryRow } from './entity.ts';
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

const SUMMARY: QuerySpec = {
  query: from('nodes', extract(['certname', 'expires_facts', 'expires_facts_updated'], withAnyNodeState(['null?', 'expires_facts_updated', false]))),
  options: { include_facts_expiration: true, ...ascendingBy('certname') },
};

export function parseExpirationSummary(raw: unknown): ExpirationRow {
  const row = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'facts expiration row');
  const certname = row.string('certname');
  const expiresFacts = row.raw('expires_facts');
  if (typeof expiresFacts !== 'boolean') throw row.fail('expires_facts is not a boolean');
  const updated = row.timestamp('expires_facts_updated');
  return { key: certname, certname, expiresFacts, updated: updated.text, version: { time: updated.ms, tieBreak: [String(expiresFacts)] } };
}

async function* summary(source: QuerySource): AsyncGenerator<ExpirationRow> {
  for await (const raw of source.query(SUMMARY)) yield parseExpirationSummary(raw);
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
  remoteSummary: summary,
  localSummary: summary,
  recordQuery: () => undefined,
  toCommand: (row, _record, reason) => expirationToCommand(row, reason),
};
