import type { Entity, RecordLists } from '../entities/entity.ts';
import { quoted } from '../entities/fields.ts';
import { SyncError } from '../errors.ts';
import type { QuerySpec } from '../puppetdb/client.ts';
import type { Command } from '../puppetdb/command.ts';
import type { PullReason, SummaryRow } from '../types.ts';

/** A server records are read from: the remote for a transfer, either side for a content tie. */
export interface RecordSource {
  readonly url: string;
  queryRecord(spec: QuerySpec, maxBytes: number): AsyncIterable<unknown>;
}

/** A whole record as its entity converts it: the row it was read for, the record, and its lists. */
export interface FetchedRecord<Row extends SummaryRow> {
  readonly row: Row;
  /** Undefined for an entity whose summary row is the whole record. */
  readonly record: unknown;
  readonly lists: RecordLists;
}

/** Reads the record `row` names from `source`, with the lists that complete it, each response within `maxBytes`. */
export async function fetchRecord<Row extends SummaryRow>(entity: Entity<Row>, row: Row, source: RecordSource, maxBytes: number): Promise<FetchedRecord<Row>> {
  const spec = entity.recordQuery(row);
  const record = spec ? await fetchOne(source, spec, maxBytes, row.certname) : undefined;
  const lists: Record<string, unknown[]> = {};
  for (const [name, listSpec] of Object.entries(entity.recordListQueries?.(row) ?? {})) {
    lists[name] = await fetchAll(source, listSpec, maxBytes);
  }
  return { row, record, lists };
}

/** The command of a fetched record, converted by its entity. */
export function commandOf<Row extends SummaryRow>(entity: Entity<Row>, fetched: FetchedRecord<Row>, reason: PullReason): Command {
  const command = entity.toCommand(fetched.row, fetched.record, reason, fetched.lists);
  // Whatever the entity: a command goes under the certname the diff chose its row by, never one the record names instead.
  if (command.certname !== fetched.row.certname) {
    throw new SyncError('PDBSYNC_ERR_RECORD_MISMATCH', `${entity.name}: certname is ${quoted(command.certname)}, its summary row's is ${quoted(fetched.row.certname)}`);
  }
  return command;
}

async function fetchOne(source: RecordSource, spec: QuerySpec, maxBytes: number, certname: string): Promise<unknown> {
  const rows: unknown[] = [];
  for await (const row of source.queryRecord(spec, maxBytes)) {
    rows.push(row);
    if (rows.length > 1) throw new SyncError('PDBSYNC_ERR_RESPONSE_MALFORMED', `more than one record for ${certname}`);
  }
  if (rows.length === 0) throw new SyncError('PDBSYNC_ERR_RECORD_MISSING', `no record for ${certname} any more`);
  return rows[0];
}

async function fetchAll(source: RecordSource, spec: QuerySpec, maxBytes: number): Promise<unknown[]> {
  const rows: unknown[] = [];
  for await (const row of source.queryRecord(spec, maxBytes)) rows.push(row);
  return rows;
}
