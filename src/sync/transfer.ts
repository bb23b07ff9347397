import { performance } from 'node:perf_hooks';
import type { Entity } from '../entities/entity.ts';
import { logEntityName, startPhase, type Logger } from '../log.ts';
import { describeQuery, type PuppetDbClient } from '../puppetdb/client.ts';
import { serializeCommand, type SerializedCommand } from '../puppetdb/command.ts';
import { resolveContentTie, type TieMemo, type TieVerdict } from './content-tie.ts';
import type { PullAction } from './diff.ts';
import { commandOf, fetchRecord, type FetchedRecord } from './record-fetch.ts';
import type { PassObserver, SummaryRow } from '../types.ts';

export interface TransferContext {
  readonly remote: PuppetDbClient;
  readonly local: PuppetDbClient;
  readonly log: Logger;
  /** How long the local PuppetDB may take to apply each command before answering. */
  readonly commandWaitSeconds: number;
  readonly maxRecordBytes: number;
  /** The verdicts of content ties already decided. */
  readonly tieMemo: TieMemo;
  /** Aborts waiting out an unavailable local PuppetDB when the entity is stopped. */
  readonly signal?: AbortSignal;
  readonly observer?: PassObserver;
}

/**
 * How a pull ended: the local PuppetDB applied the record; it could not be transferred;
 * or, for a tie decided by content, nothing was to be submitted (the content is equal,
 * or the local record wins, and the other server's sidecar pulls it).
 */
export type TransferOutcome = 'transferred' | 'failed' | 'in-step';

/** Fetches one remote record, converts it and submits it locally, a tie by content once decided. Never throws. */
export async function transferRecord<Row extends SummaryRow>(
  entity: Entity<Row>,
  action: PullAction<Row>,
  context: TransferContext,
): Promise<TransferOutcome> {
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
    const command = await commandToSubmit(entity, action, context);
    if (typeof command === 'string') {
      // Neither transferred nor failed: the records metrics count it as neither.
      phase.finished({ tie: command });
      return 'in-step';
    }
    // Counted as transferred only once PuppetDB says it applied the command.
    const uuid = await context.local.submit(command, context.commandWaitSeconds, context.signal);
    phase.finished({ uuid });
    observe(true);
    return 'transferred';
  } catch (error) {
    phase.error(error);
    observe(false);
    return 'failed';
  }
}

/**
 * The command to submit, fetched and converted; only its bytes outlive this function,
 * not its objects. For a tie decided by content, the verdict instead when the remote
 * record does not win.
 */
async function commandToSubmit<Row extends SummaryRow>(
  entity: Entity<Row>,
  action: PullAction<Row>,
  context: TransferContext,
): Promise<SerializedCommand | Exclude<TieVerdict, 'remote-wins'>> {
  let fetched: FetchedRecord<Row> | undefined;
  if (action.reason === 'tie' && entity.tiesByContent) {
    const sides = { remote: context.remote, local: context.local, maxRecordBytes: context.maxRecordBytes };
    const tie = await resolveContentTie(entity, action.row, action.local, sides, context.tieMemo);
    if (tie.verdict !== 'remote-wins') return tie.verdict;
    fetched = tie.remote;
  }
  fetched ??= await fetchRecord(entity, action.row, context.remote, context.maxRecordBytes);
  return serializeCommand(commandOf(entity, fetched, action.reason));
}
