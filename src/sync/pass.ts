import { performance } from 'node:perf_hooks';
import type { SyncSettings } from '../config/types.ts';
import type { Entity, QuerySource, SummaryContext } from '../entities/entity.ts';
import { SyncError } from '../errors.ts';
import { logEntityName, startPhase, type Logger } from '../log.ts';
import type { PuppetDbClient } from '../puppetdb/client.ts';
import type { EntityResult, PassKind, PassObserver, PassResult, ProgressObserver, SummaryRow } from '../types.ts';
import { LocalQueueGate } from './backpressure.ts';
import { EntityRun } from './entity-run.ts';
import { incrementalEntity } from './incremental.ts';
import { reconcileEntity } from './reconcile.ts';
import type { TieMemo } from './content-tie.ts';
import { combineStates, type SyncStateStore } from './sync-state.ts';

/** Certnames no entity pulls in this pass (the wiring's node-purge policy). */
export type Exclusions = (remote: QuerySource, summary: SummaryContext) => Promise<ReadonlySet<string>>;

export interface PassContext {
  readonly remote: PuppetDbClient;
  readonly local: PuppetDbClient;
  readonly log: Logger;
  readonly settings: SyncSettings;
  readonly entities: readonly Entity[];
  readonly kind: PassKind;
  /** Watermarks and what the last passes left; an incremental pass leaves an entity without state to the reconciliation. */
  readonly state: SyncStateStore;
  /** The verdicts of content ties already decided: made where passes are wired, one for every pass of the process. */
  readonly tieMemo: TieMemo;
  readonly exclusions: Exclusions;
  /** No reconciliation against this remote has completed since the process started (initial-report-threshold). */
  readonly firstPass: boolean;
  /** Rest between the parts of a long reconciliation, so the servers keep capacity for their own clients. */
  readonly spread?: boolean;
  /** The local command queue's budget, shared by every pass of the process (`run`); one of the pass's own otherwise. */
  readonly gate?: LocalQueueGate;
  /**
   * A reconciliation has read where the remote stands for every entity that had no
   * state, and kept it as the entity's provisional state: incremental passes can go
   * on from there while the reconciliation runs.
   */
  readonly onMarks?: () => void;
  readonly observer?: PassObserver;
  /** Follows each entity while it runs: records done and to do (src/progress/). */
  readonly progress?: ProgressObserver;
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
  /** Entities the pass got to: it stops before the rest when a server is down or the sidecar stops. */
  let reached = 0;
  // A server found down in an earlier pass is tried again; this pass's breakers are
  // kept, as another pass may reset the local server's while this one runs.
  context.remote.breaker.reset();
  context.local.breaker.reset();
  const breakers: Breakers = [context.remote.breaker.signal, context.local.breaker.signal];
  try {
    const summary: SummaryContext = { now: (context.now ?? Date.now)(), firstPass: context.firstPass, settings: context.settings };
    if (kind === 'reconcile') await markProvisionally(context, summary);
    const excludedCertnames = await context.exclusions(context.remote, summary);
    const gate = context.gate ?? new LocalQueueGate(context.local, () => context.settings.queueLimit, context.log);
    for (const entity of context.entities) {
      if (context.signal?.aborted || serverDown(breakers)) break;
      reached++;
      // An incremental pass leaves an entity whose reconciliation has not yet read where the remote stands to it.
      if (kind === 'incremental' && context.state.get(remote, entity.name) === undefined) continue;
      results.push(await runEntity(entity, { excludedCertnames, summary, gate, breakers }, context));
    }
  } catch (error) {
    // One line for a server that stopped answering, whichever request found it.
    const why = serverDown(breakers) ?? error;
    phase.error(why);
    return { remote, kind, ok: false, entities: results, error: errorLine(why) };
  }
  const ok = reached === context.entities.length && results.every((result) => result.ok);
  const rows = { remoteRows: sum(results, 'remoteRows'), localRows: sum(results, 'localRows') };
  if (ok) {
    phase.finished(rows);
    return { remote, kind, ok, entities: results };
  }
  const why =
    serverDown(breakers) ??
    (context.signal?.aborted
      ? (context.signal.reason instanceof SyncError ? context.signal.reason : new SyncError('PDBSYNC_ERR_STOPPED', 'the pass was stopped'))
      : new SyncError('PDBSYNC_ERR_RECORDS_FAILED', `entities not in step: ${results.filter((r) => !r.ok).map((r) => r.entity).join(', ')}`));
  phase.error(why, rows);
  return { remote, kind, ok, entities: results, error: errorLine(why) };
}

/**
 * Where the remote stands for each entity that has no state yet, kept as its
 * provisional state (reconciledAt null) before the reconciliation compares anything:
 * a first reconciliation, which may run for hours, then does not hold up new records.
 */
async function markProvisionally(context: PassContext, summary: SummaryContext): Promise<void> {
  const remote = context.remote.url;
  for (const entity of context.entities) {
    if (context.signal?.aborted) return;
    if (context.state.get(remote, entity.name) !== undefined) continue;
    const mark = await entity.watermark(context.remote, summary);
    context.state.set(remote, entity.name, { mark, reconciledAt: null, inStep: new Map(), retry: new Map() });
  }
  context.onMarks?.();
}

function errorLine(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The remote's and the local server's circuit breakers in this pass: aborted once the server is down. */
type Breakers = readonly [AbortSignal, AbortSignal];

/** The PDBSYNC_ERR_SERVER_DOWN error of the remote or the local server, if either is down. */
function serverDown(breakers: Breakers): SyncError | undefined {
  return breakers.find((signal) => signal.aborted)?.reason as SyncError | undefined;
}

function sum(results: readonly EntityResult[], field: 'remoteRows' | 'localRows'): number {
  return results.reduce((total, result) => total + result[field], 0);
}

interface EntityInputs {
  readonly excludedCertnames: ReadonlySet<string>;
  readonly summary: SummaryContext;
  readonly gate: LocalQueueGate;
  readonly breakers: Breakers;
}

async function runEntity<Row extends SummaryRow>(entity: Entity<Row>, inputs: EntityInputs, context: PassContext): Promise<EntityResult> {
  const started = performance.now();
  const result = await syncEntity(entity, inputs, context);
  context.observer?.entityFinished(context.remote.url, result, performance.now() - started);
  return result;
}

/**
 * One entity, reconciled or incremental. Stopped between records when the entity
 * runs past sync.entity-time-limit, a server is found down or the sidecar stops:
 * the records in flight finish, the entity ends with an error, and its state is left
 * as it was, so the next pass reads the same rows again.
 */
async function syncEntity<Row extends SummaryRow>(entity: Entity<Row>, inputs: EntityInputs, context: PassContext): Promise<EntityResult> {
  const previous = context.state.get(context.remote.url, entity.name);
  const kind: PassKind = context.kind === 'reconcile' || previous === undefined ? 'reconcile' : 'incremental';
  const fields = { remote: context.remote.url, entity: logEntityName(entity.name), kind };
  const phase = startPhase(context.log, 'entity', fields);
  const deadline = entityDeadline(context.settings.entityTimeLimitMs, [...inputs.breakers, ...(context.signal ? [context.signal] : [])]);
  const { signal } = deadline;
  const progress = context.progress?.entityStarted(context.remote.url, entity.name, kind);
  const run = new EntityRun(entity, {
    remote: context.remote,
    local: context.local,
    log: context.log,
    signal,
    spread: context.spread ?? false,
    excludedCertnames: inputs.excludedCertnames,
    summary: inputs.summary,
    gate: inputs.gate,
    tieMemo: context.tieMemo,
    ...(context.observer && { observer: context.observer }),
    ...(progress && { progress }),
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
      phase.error(whyStopped(entity, inputs.breakers, context), counts());
      return result(false);
    }
    // The other lane may have moved the entity's state on while this one ran.
    context.state.set(context.remote.url, entity.name, combineStates(context.state.get(context.remote.url, entity.name), previous, next, kind));
  } catch (error) {
    await run.idle();
    phase.error(serverDown(inputs.breakers) ?? error, counts());
    return result(false);
  } finally {
    deadline.dispose();
    progress?.finished();
  }
  phase.finished(counts());
  return result(run.failed === 0 && run.skipped === 0);
}

/**
 * Aborted when the entity runs past its time limit or one of `stops` aborts (the
 * sidecar stopping, a server's breaker). Disposed when the entity ends, so that a pass
 * every few seconds does not leave a timer and its signal alive for the whole time
 * limit (AbortSignal.timeout cannot be cancelled, AbortSignal.any keeps its sources).
 */
function entityDeadline(limitMs: number, stops: readonly AbortSignal[]): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('entity time limit')), limitMs);
  timer.unref();
  const listeners = stops.map((stop) => {
    const abort = () => controller.abort(stop.reason);
    if (stop.aborted) abort();
    else stop.addEventListener('abort', abort, { once: true });
    return () => stop.removeEventListener('abort', abort);
  });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      for (const remove of listeners) remove();
    },
  };
}

/** Why an entity stopped between records: a server down, the sidecar stopping, or the time limit. */
function whyStopped(entity: Entity, breakers: Breakers, context: PassContext): SyncError {
  const down = serverDown(breakers);
  if (down) return down;
  if (context.signal?.aborted) return new SyncError('PDBSYNC_ERR_STOPPED', `${entity.name} stopped`);
  return new SyncError('PDBSYNC_ERR_ENTITY_TIME_LIMIT', `${entity.name} ran past ${context.settings.entityTimeLimitMs} ms`);
}
