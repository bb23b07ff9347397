import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SummarySegment } from '../entities/entity.ts';
import { logEntityName } from '../log.ts';
import type { SummaryRow } from '../types.ts';
import { diffOptionsFor, diffSummaries, indexByKey, mergeSummaries, SummaryOutOfOrder, type PullAction } from './diff.ts';
import type { EntityRun } from './entity-run.ts';
import type { EntitySyncState } from './sync-state.ts';

/**
 * Reconciliation: the whole remote summary against the whole local one, merged as
 * both stream in sorted by key, so it is exact and its memory does not grow with the
 * data; part after part for an entity that has parts. The watermark is read first:
 * incremental passes go on from there, and what the remote receives while the
 * summaries are read is seen again by the next one.
 */
export async function reconcileEntity<Row extends SummaryRow>(run: EntityRun<Row>): Promise<EntitySyncState> {
  const { entity, options } = run;
  const mark = await entity.watermark(options.remote, options.summary);
  const segments = (await entity.segments?.(options.remote, options.summary)) ?? [undefined];
  options.progress?.expectParts(segments.map((segment) => segment?.rows));
  for (const [i, segment] of segments.entries()) {
    if (run.stopped) break;
    const started = performance.now();
    await reconcileSegment(run, segment);
    // Spread: rest as long as the part took, so that a long reconciliation takes at
    // most about half of what the servers can give a query.
    if (options.spread && i < segments.length - 1) await sleep(performance.now() - started, undefined, { signal: options.signal }).catch(() => undefined);
  }
  // A reconciliation sees every record, relayed or not: the relay scan goes on from here.
  return { mark, reconciledAt: options.summary.now, inStep: new Map(), retry: run.failedRows, relay: { mark, at: options.summary.now } };
}

/**
 * One part: both summaries are read to their end, and closed, before a record moves.
 * PuppetDB 8 cuts a query at its query-timeout-default (600 s) over the whole streamed
 * answer, and records move at the local server's command rate: a summary kept open
 * while they move would be cut at fleet scale. The part's pulls are held meanwhile
 * (a report part lists about SEGMENT_ROWS rows; most are in step).
 */
async function reconcileSegment<Row extends SummaryRow>(run: EntityRun<Row>, segment: SummarySegment | undefined): Promise<void> {
  const { entity, options } = run;
  const { remote, local, summary } = options;
  const diffOptions = diffOptionsFor(entity, options.excludedCertnames);
  const remoteRows = () => run.counted(entity.remoteSummary(remote, summary, segment), 'remote');
  const localRows = () => run.counted(entity.localSummary(local, summary, segment), 'local');
  const rowsBefore = run.remoteRows;
  let actions: PullAction<Row>[];
  try {
    actions = await collect(run, mergeSummaries(remoteRows(), localRows(), diffOptions));
  } catch (error) {
    if (!(error instanceof SummaryOutOfOrder)) throw error;
    // Nothing has moved yet: the part is diffed again, each record pulled once.
    options.log.warn({ remote: remote.url, entity: logEntityName(entity.name), reason: error.message }, 'summary not sorted by key; diffing with the local summary held whole');
    const localIndex = await indexByKey(localRows());
    actions = await collect(run, diffSummaries(remoteRows(), localIndex, diffOptions));
  }
  options.progress?.compared(run.remoteRows - rowsBefore, actions.length, true);
  for (const action of actions) {
    if (!(await run.pull(action))) break;
  }
  await run.idle();
}

/** The pulls of a diff, read to its end unless the entity is stopped. */
async function collect<Row extends SummaryRow>(run: EntityRun<Row>, actions: AsyncIterable<PullAction<Row>>): Promise<PullAction<Row>[]> {
  const held: PullAction<Row>[] = [];
  for await (const action of actions) {
    if (run.stopped) break;
    held.push(action);
  }
  return held;
}
