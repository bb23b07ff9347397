import type { SummaryRow } from '../types.ts';
import { diffSummaries, indexByKey, mergeSummaries, SummaryOutOfOrder, type PullAction } from './diff.ts';
import type { EntityRun } from './entity-run.ts';
import type { EntitySyncState } from './sync-state.ts';

/**
 * Reconciliation: the whole remote summary against the whole local one, merged as
 * both stream in sorted by key, so it is exact and its memory does not grow with the
 * data. The watermark is read first: incremental passes go on from there, and what
 * the remote receives while the summaries are read is seen again by the next one.
 */
export async function reconcileEntity<Row extends SummaryRow>(run: EntityRun<Row>): Promise<EntitySyncState> {
  const { entity, options } = run;
  const { remote, local, summary } = options;
  const mark = await entity.watermark(remote, summary);
  const diffOptions = { pullWhenMissing: entity.pullWhenMissing, excludedCertnames: options.excludedCertnames };
  const pullAll = async (actions: AsyncIterable<PullAction<Row>>) => {
    for await (const action of actions) {
      if (!(await run.pull(action))) break;
    }
  };
  const remoteRows = () => run.counted(entity.remoteSummary(remote, summary), 'remote');
  try {
    await pullAll(mergeSummaries(remoteRows(), run.counted(entity.localSummary(local, summary), 'local'), diffOptions));
  } catch (error) {
    if (!(error instanceof SummaryOutOfOrder)) throw error;
    // What was transferred is applied before the local summary is read again, so
    // it reads as in step and is not pulled twice.
    await run.idle();
    options.log.warn({ remote: remote.url, entity: entity.name, reason: error.message }, 'summary not sorted by key; diffing with the local summary held whole');
    const localIndex = await indexByKey(run.counted(entity.localSummary(local, summary), 'local'));
    await pullAll(diffSummaries(remoteRows(), localIndex, diffOptions));
  }
  await run.idle();
  return { mark, reconciledAt: summary.now, inStep: new Map(), retry: run.failedRows };
}
