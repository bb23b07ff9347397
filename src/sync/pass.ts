import { performance } from 'node:perf_hooks';
import PQueue from 'p-queue';
import type { SyncSettings } from '../config/types.ts';
import type { Entity, EntityName, SummaryContext, SummaryRow } from '../entities/entity.ts';
import { FieldReader } from '../entities/fields.ts';
import { SyncError } from '../errors.ts';
import { startPhase, type Logger } from '../log.ts';
import type { PuppetDbClient } from '../puppetdb/client.ts';
import { inactiveNodes } from '../puppetdb/query.ts';
import { LocalQueueGate } from './backpressure.ts';
import { diffSummaries, indexByKey, mergeSummaries, SummaryOutOfOrder, type PullAction } from './diff.ts';
import { transferRecord, type TransferContext } from './transfer.ts';

export interface EntityResult {
  readonly entity: EntityName;
  /** True when the entity ran to its end and no record failed. */
  readonly ok: boolean;
  readonly transferred: number;
  readonly failed: number;
}

export interface PassResult {
  readonly remote: string;
  readonly ok: boolean;
  readonly entities: readonly EntityResult[];
}

/** Told of every pass, entity and record as they end: the metrics. */
export interface PassObserver {
  recordFinished(remote: string, entity: EntityName, durationMs: number, ok: boolean): void;
  entityFinished(remote: string, result: EntityResult, durationMs: number): void;
  passFinished(remote: string, result: PassResult, durationMs: number): void;
}

export interface PassContext {
  readonly remote: PuppetDbClient;
  readonly local: PuppetDbClient;
  readonly log: Logger;
  readonly settings: SyncSettings;
  readonly entities: readonly Entity[];
  /** The first pass against this remote since the process started (initial-report-threshold). */
  readonly firstPass: boolean;
  readonly observer?: PassObserver;
  /** Aborted when the sidecar stops: records in flight finish, no new one starts. */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

/** One pass against one remote: entity by entity, in the order given. */
export async function runPass(context: PassContext): Promise<PassResult> {
  const started = performance.now();
  const result = await runEntities(context);
  context.observer?.passFinished(context.remote.url, result, performance.now() - started);
  return result;
}

async function runEntities(context: PassContext): Promise<PassResult> {
  const remote = context.remote.url;
  const phase = startPhase(context.log, 'sync', { remote });
  const results: EntityResult[] = [];
  try {
    const summary: SummaryContext = { now: (context.now ?? Date.now)(), firstPass: context.firstPass, settings: context.settings };
    const excludedCertnames = await remoteNodesGoneBefore(context.remote, summary.now - context.settings.nodePurgeTtlMs);
    const gate = new LocalQueueGate(context.local, context.settings.queueLimit, context.log);
    for (const entity of context.entities) {
      if (context.signal?.aborted) break;
      results.push(await runEntity(entity, { excludedCertnames, summary, gate }, context));
    }
  } catch (error) {
    phase.error(error);
    return { remote, ok: false, entities: results };
  }
  const ok = results.length === context.entities.length && results.every((result) => result.ok);
  if (ok) phase.finished();
  else if (context.signal?.aborted) phase.error(new SyncError('PDBSYNC_ERR_STOPPED', 'the pass was stopped'));
  else phase.error(new SyncError('PDBSYNC_ERR_RECORDS_FAILED', `entities not in step: ${results.filter((r) => !r.ok).map((r) => r.entity).join(', ')}`));
  return { remote, ok, entities: results };
}

/**
 * Nodes the remote deactivated or expired before `cutoff`: the local server has
 * purged them (node-purge-ttl) or soon will, and pulling them would bring back
 * what was removed on purpose.
 */
export async function remoteNodesGoneBefore(remote: PuppetDbClient, cutoff: number): Promise<Set<string>> {
  const gone = new Set<string>();
  const spec = { query: inactiveNodes(['certname', 'deactivated', 'expired'], 'deactivated or expired') };
  for await (const raw of remote.query(spec)) {
    const node = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'inactive node row');
    const since = node.optionalTimestamp('deactivated') ?? node.optionalTimestamp('expired');
    if (since && since.ms < cutoff) gone.add(node.string('certname'));
  }
  return gone;
}

interface EntityInputs {
  readonly excludedCertnames: ReadonlySet<string>;
  readonly summary: SummaryContext;
  readonly gate: LocalQueueGate;
}

async function runEntity<Row extends SummaryRow>(entity: Entity<Row>, inputs: EntityInputs, context: PassContext): Promise<EntityResult> {
  const started = performance.now();
  const result = await syncEntity(entity, inputs, context);
  context.observer?.entityFinished(context.remote.url, result, performance.now() - started);
  return result;
}

/**
 * One entity: diff, then transfer what wins. Stopped between records when the
 * entity runs past sync.entity-time-limit or the sidecar stops: the records in
 * flight finish, and the entity ends with an error.
 */
async function syncEntity<Row extends SummaryRow>(entity: Entity<Row>, inputs: EntityInputs, context: PassContext): Promise<EntityResult> {
  const { excludedCertnames, summary, gate } = inputs;
  const fields = { remote: context.remote.url, entity: entity.name };
  const phase = startPhase(context.log, 'entity', fields);
  const timeLimit = AbortSignal.timeout(context.settings.entityTimeLimitMs);
  const signal = context.signal ? AbortSignal.any([context.signal, timeLimit]) : timeLimit;
  const transfer: TransferContext = {
    remote: context.remote,
    local: context.local,
    log: context.log,
    commandWaitSeconds: commandWaitSeconds(context.settings.requestTimeoutMs),
    maxRecordBytes: context.settings.maxRecordBytes,
    signal,
    ...(context.observer && { observer: context.observer }),
  };
  const { concurrency } = context.settings;
  const queue = new PQueue({ concurrency });
  let transferred = 0;
  let failed = 0;
  try {
    const diffOptions = { pullWhenMissing: entity.pullWhenMissing, excludedCertnames };
    const transferAll = async (actions: AsyncIterable<PullAction<Row>>) => {
      for await (const action of actions) {
        // Backpressure: read the summaries no faster than records are transferred,
        // and transfer nothing while the local queue is too deep.
        await queue.onSizeLessThan(concurrency);
        await gate.wait(signal);
        if (signal.aborted) break;
        void queue.add(async () => {
          // Queued before the stop but not started: left for the next pass.
          if (signal.aborted) return;
          if (await transferRecord(entity, action, transfer)) transferred++;
          else failed++;
        });
      }
    };
    try {
      await transferAll(mergeSummaries(entity.remoteSummary(context.remote, summary), entity.localSummary(context.local, summary), diffOptions));
    } catch (error) {
      if (!(error instanceof SummaryOutOfOrder)) throw error;
      // What was transferred is applied before the local summary is read again, so
      // it reads as in step and is not pulled twice.
      await queue.onIdle();
      context.log.warn({ ...fields, reason: error.message }, 'summary not sorted by key; diffing with the local summary held whole');
      const localIndex = await indexByKey(entity.localSummary(context.local, summary));
      await transferAll(diffSummaries(entity.remoteSummary(context.remote, summary), localIndex, diffOptions));
    }
    await queue.onIdle();
    if (signal.aborted) {
      const stopped = context.signal?.aborted
        ? new SyncError('PDBSYNC_ERR_STOPPED', `${entity.name} stopped`)
        : new SyncError('PDBSYNC_ERR_ENTITY_TIME_LIMIT', `${entity.name} ran past ${context.settings.entityTimeLimitMs} ms`);
      phase.error(stopped, { transferred, failed });
      return { entity: entity.name, ok: false, transferred, failed };
    }
  } catch (error) {
    await queue.onIdle();
    phase.error(error, { transferred, failed });
    return { entity: entity.name, ok: false, transferred, failed };
  }
  phase.finished({ transferred, failed });
  return { entity: entity.name, ok: failed === 0, transferred, failed };
}

/** PuppetDB must answer a blocking submission before the request itself times out. */
export function commandWaitSeconds(requestTimeoutMs: number): number {
  return Math.max(1, Math.floor((requestTimeoutMs * 0.8) / 1000));
}
