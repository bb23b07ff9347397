import { performance } from 'node:perf_hooks';
import type { Entity } from '../entities/entity.ts';
import { quoted } from '../entities/fields.ts';
import { SyncError } from '../errors.ts';
import { logEntityName, startPhase, type Logger } from '../log.ts';
import { describeQuery, type PuppetDbClient, type QuerySpec } from '../puppetdb/client.ts';
import { serializeCommand, type SerializedCommand } from '../puppetdb/command.ts';
import type { PullAction } from './diff.ts';
import type { PassObserver, SummaryRow } from '../types.ts';

export interface TransferContext {
  readonly remote: PuppetDbClient;
  readonly local: PuppetDbClient;
  readonly log: Logger;
  /** How long the local PuppetDB may take to apply each command before answering. */
  readonly commandWaitSeconds: number;
  readonly maxRecordBytes: number;
  /** Aborts waiting out an unavailable local PuppetDB when the entity is stopped. */
  readonly signal?: AbortSignal;
  readonly observer?: PassObserver;
}

/** Fetches one remote record, converts it and submits it locally. Never throws: true when the local PuppetDB applied it. */
export async function transferRecord<Row extends SummaryRow>(
  entity: Entity<Row>,
  action: PullAction<Row>,
  context: TransferContext,
): Promise<boolean> {
  const spec = entity.recordQuery(action.row);
  const fields: Record<string, unknown> = {
    remote: context.remote.url,
    entity: logEntityName(entity.name),
    certname: action.row.certname,
    ...entity.logFields?.(action.row),
    reason: action.reason,
    ...(spec && { query: describeQuery(spec) }),
  };
  const phase = startPhase(context.log, entity.logPhase, fields);
  const started = performance.now();
  const observe = (ok: boolean) => context.observer?.recordFinished(context.remote.url, entity.name, performance.now() - started, ok);
  try {
    const command = await fetchCommand(entity, action, spec, context);
    // Counted as transferred only once PuppetDB says it applied the command.
    const uuid = await context.local.submit(command, context.commandWaitSeconds, context.signal);
    phase.finished({ uuid });
    observe(true);
    return true;
  } catch (error) {
    phase.error(error);
    observe(false);
    return false;
  }
}

/** The record fetched and converted; only its bytes outlive this function, not its objects. */
async function fetchCommand<Row extends SummaryRow>(
  entity: Entity<Row>,
  action: PullAction<Row>,
  spec: QuerySpec | undefined,
  context: TransferContext,
): Promise<SerializedCommand> {
  const record = spec ? await fetchOne(context.remote, spec, context.maxRecordBytes, action.row.certname) : undefined;
  const lists: Record<string, unknown[]> = {};
  for (const [name, listSpec] of Object.entries(entity.recordListQueries?.(action.row) ?? {})) {
    lists[name] = await fetchAll(context.remote, listSpec, context.maxRecordBytes);
  }
  const command = entity.toCommand(action.row, record, action.reason, lists);
  // Whatever the entity: a command goes under the certname the diff chose its row by, never one the record names instead.
  if (command.certname !== action.row.certname) {
    throw new SyncError('PDBSYNC_ERR_RECORD_MISMATCH', `${entity.name}: certname is ${quoted(command.certname)}, its summary row's is ${quoted(action.row.certname)}`);
  }
  return serializeCommand(command);
}

async function fetchOne(remote: PuppetDbClient, spec: QuerySpec, maxBytes: number, certname: string): Promise<unknown> {
  const rows: unknown[] = [];
  for await (const row of remote.queryRecord(spec, maxBytes)) {
    rows.push(row);
    if (rows.length > 1) throw new SyncError('PDBSYNC_ERR_RESPONSE_MALFORMED', `more than one record for ${certname}`);
  }
  if (rows.length === 0) throw new SyncError('PDBSYNC_ERR_RECORD_MISSING', `no record for ${certname} any more`);
  return rows[0];
}

async function fetchAll(remote: PuppetDbClient, spec: QuerySpec, maxBytes: number): Promise<unknown[]> {
  const rows: unknown[] = [];
  for await (const row of remote.queryRecord(spec, maxBytes)) rows.push(row);
  return rows;
}
