import { performance } from 'node:perf_hooks';
import type { SyncSettings } from '../config/types.ts';
import type { Entity, QuerySource, SummaryContext } from '../entities/entity.ts';
import { SyncError } from '../errors.ts';
import { startPhase, type Logger } from '../log.ts';
import type { PuppetDbClient } from '../puppetdb/client.ts';
import type { EntityResult, PassKind, PassObserver, PassResult, SummaryRow } from '../types.ts';
import { LocalQueueGate } from './backpressure.ts';
import { EntityRun } from './entity-run.ts';
import { incrementalEntity } from './incremental.ts';
import { reconcileEntity } from './reconcile.ts';
import type { SyncStateStore } from './sync-state.ts';

/** Certnames no entity pulls in this pass (the wiring's node-purge policy). */
export type Exclusions = (remote: QuerySource, summary: SummaryContext) => Promise<ReadonlySet<string>>;

export interface PassContext {
  readonly remote: PuppetDbClient;
  readonly local: PuppetDbClient;
  readonly log: Logger;
  readonly settings: SyncSettings;
  readonly entities: readonly Entity[];
  readonly kind: PassKind;
  /** Watermarks and what the last passes left; an entity without state is reconciled. */
  readonly state: SyncStateStore;
  readonly exclusions: Exclusions;
  /** No reconciliation against this remote has completed since the process started (initial-report-threshold). */
  readonly firstPass: boolean;
  /** Rest between the parts of a long reconciliation, so the servers keep capacity for their own clients. */
  readonly spread?: boolean;
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
  const { kind } = context;
  const remote = context.remote.url;
  const phase = startPhase(context.log, 'sync', { remote, kind });
  const results: EntityResult[] = [];
  try {
    const summary: SummaryContext = { now: (context.now ?? Date.now)(), firstPass: context.firstPass, settings: context.settings };
    const excludedCertnames = await context.exclusions(context.remote, summary);
    const gate = new LocalQueueGate(context.local, context.settings.queueLimit, context.log);
    for (const entity of context.entities) {
      if (context.signal?.aborted) break;
      results.push(await runEntity(entity, { excludedCertnames, summary, gate }, context));
    }
  } catch (error) {
    phase.error(error);
    return { remote, kind, ok: false, entities: results };
  }
  const ok = results.length === context.entities.length && results.every((result) => result.ok);
  const rows = { remoteRows: sum(results, 'remoteRows'), localRows: sum(results, 'localRows') };
  if (ok) phase.finished(rows);
  else if (context.signal?.aborted) phase.error(new SyncError('PDBSYNC_ERR_STOPPED', 'the pass was stopped'), rows);
  else phase.error(new SyncError('PDBSYNC_ERR_RECORDS_FAILED', `entities not in step: ${results.filter((r) => !r.ok).map((r) => r.entity).join(', ')}`), rows);
  return { remote, kind, ok, entities: results };
}

function sum(results: readonly EntityResult[], field: 'remoteRows' | 'localRows'): number {
  return results.reduce((total, result) => total + result[field], 0);
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
 * One entity, reconciled or incremental. Stopped between records when the entity
 * runs past sync.entity-time-limit or the sidecar stops: the records in flight
 * finish, the entity ends with an error, and its state is left as it was, so the
 * next pass reads the same rows again.
 */
async function syncEntity<Row extends SummaryRow>(entity: Entity<Row>, inputs: EntityInputs, context: PassContext): Promise<EntityResult> {
  const previous = context.state.get(context.remote.url, entity.name);
  const kind: PassKind = context.kind === 'reconcile' || previous === undefined ? 'reconcile' : 'incremental';
  const fields = { remote: context.remote.url, entity: entity.name, kind };
  const phase = startPhase(context.log, 'entity', fields);
  const deadline = entityDeadline(context.settings.entityTimeLimitMs, context.signal);
  const { signal } = deadline;
  const run = new EntityRun(entity, {
    remote: context.remote,
    local: context.local,
    log: context.log,
    signal,
    spread: context.spread ?? false,
    ...inputs,
    ...(context.observer && { observer: context.observer }),
  });
  const result = (ok: boolean): EntityResult => ({
    entity: entity.name,
    kind,
    ok,
    transferred: run.transferred,
    failed: run.failed,
    skipped: run.skipped,
    remoteRows: run.remoteRows,
    localRows: run.localRows,
  });
  const counts = () => ({ transferred: run.transferred, failed: run.failed, skipped: run.skipped, remoteRows: run.remoteRows, localRows: run.localRows });
  try {
    const next = previous === undefined || kind === 'reconcile' ? await reconcileEntity(run) : await incrementalEntity(run, previous);
    if (signal.aborted) {
      const stopped = context.signal?.aborted
        ? new SyncError('PDBSYNC_ERR_STOPPED', `${entity.name} stopped`)
        : new SyncError('PDBSYNC_ERR_ENTITY_TIME_LIMIT', `${entity.name} ran past ${context.settings.entityTimeLimitMs} ms`);
      phase.error(stopped, counts());
      return result(false);
    }
    context.state.set(context.remote.url, entity.name, next);
  } catch (error) {
    await run.idle();
    phase.error(error, counts());
    return result(false);
  } finally {
    deadline.dispose();
  }
  phase.finished(counts());
  return result(run.failed === 0 && run.skipped === 0);
}

/**
 * Aborted when the entity runs past its time limit or `stopping` aborts. Disposed when
 * the entity ends, so that a pass every few seconds does not leave a timer and its
 * signal alive for the whole time limit (AbortSignal.timeout cannot be cancelled).
 */
function entityDeadline(limitMs: number, stopping: AbortSignal | undefined): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort(stopping?.reason);
  const timer = setTimeout(() => controller.abort(new Error('entity time limit')), limitMs);
  timer.unref();
  if (stopping?.aborted) stop();
  else stopping?.addEventListener('abort', stop, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      stopping?.removeEventListener('abort', stop);
    },
  };
}
