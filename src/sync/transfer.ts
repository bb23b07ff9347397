import { performance } from 'node:perf_hooks';
import type { Entity } from '../entities/entity.ts';
import { logEntityName, startPhase, type Logger } from '../log.ts';
import { describeQuery, type PuppetDbClient } from '../puppetdb/client.ts';
import { serializeCommand, type SerializedCommand } from '../puppetdb/command.ts';
import type { PullAction } from './diff.ts';
import { commandOf, fetchRecord } from './record-fetch.ts';
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
    const command = await fetchCommand(entity, action, context);
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
async function fetchCommand<Row extends SummaryRow>(entity: Entity<Row>, action: PullAction<Row>, context: TransferContext): Promise<SerializedCommand> {
  const fetched = await fetchRecord(entity, action.row, context.remote, context.maxRecordBytes);
  return serializeCommand(commandOf(entity, fetched, action.reason));
}
