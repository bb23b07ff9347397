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
  for (const [i, segment] of segments.entries()) {
    if (run.stopped) break;
    const started = performance.now();
    await reconcileSegment(run, segment);
    // Spread: rest as long as the part took, so that a long reconciliation takes at
    // most about half of what the servers can give a query.
    if (options.spread && i < segments.length - 1) await sleep(performance.now() - started, undefined, { signal: options.signal }).catch(() => undefined);
  }
  return { mark, reconciledAt: options.summary.now, inStep: new Map(), retry: run.failedRows };
}

async function reconcileSegment<Row extends SummaryRow>(run: EntityRun<Row>, segment: SummarySegment | undefined): Promise<void> {
  const { entity, options } = run;
  const { remote, local, summary } = options;
  const diffOptions = diffOptionsFor(entity, options.excludedCertnames);
  const pullAll = async (actions: AsyncIterable<PullAction<Row>>) => {
    for await (const action of actions) {
      if (!(await run.pull(action))) break;
    }
  };
  const remoteRows = () => run.counted(entity.remoteSummary(remote, summary, segment), 'remote');
  const localRows = () => run.counted(entity.localSummary(local, summary, segment), 'local');
  try {
    await pullAll(mergeSummaries(remoteRows(), localRows(), diffOptions));
  } catch (error) {
    if (!(error instanceof SummaryOutOfOrder)) throw error;
    // What was transferred is applied before the local summary is read again, so
    // it reads as in step and is not pulled twice.
    await run.idle();
    options.log.warn({ remote: remote.url, entity: logEntityName(entity.name), reason: error.message }, 'summary not sorted by key; diffing with the local summary held whole');
    const localIndex = await indexByKey(localRows());
    await pullAll(diffSummaries(remoteRows(), localIndex, diffOptions));
  }
  await run.idle();
}
