import { BATCH_SIZE, isUnreadable, laterMark } from '../entities/entity.ts';
import type { SummaryRow } from '../types.ts';
import { diffBatch, diffOptionsFor, type Keyed } from './diff.ts';
import type { EntityRun } from './entity-run.ts';
import { versionSignature, type EntitySyncState } from './sync-state.ts';

/**
 * An incremental pass of one entity: only the remote rows received since the
 * watermark (with the overlap), and the rows whose transfer failed last time, each
 * compared with the local rows under the same keys, a batch per query. Rows the
 * previous pass already left in step are not looked up again. The cost follows what
 * changed on the remote, not what the servers hold.
 */
export async function incrementalEntity<Row extends SummaryRow>(run: EntityRun<Row>, previous: EntitySyncState): Promise<EntitySyncState> {
  const { entity, options } = run;
  const { remote, local, summary } = options;
  const inStep = new Map<string, string>();
  const seen = new Set<string>();
  let batch: Row[] = [];
  let mark = previous.mark;
  const diffOptions = diffOptionsFor(entity, options.excludedCertnames);

  const compare = async (rows: readonly Row[]) => {
    const localRows: Keyed<Row>[] = [];
    for await (const row of run.counted(entity.counterparts(local, rows, summary), 'local')) if (row.key !== undefined) localRows.push(row as Keyed<Row>);
    const { pull, settled } = diffBatch(rows, localRows, diffOptions);
    options.progress?.compared(rows.length, pull.length, false);
    for (const row of settled) inStep.set(row.key, versionSignature(row.version));
    for (const action of pull) {
      // A tie found in step (equal content, or the local record wins) is not read again either.
      const pulled = await run.pull(action, (outcome) => {
        if (outcome !== 'failed') inStep.set(action.row.key, versionSignature(action.row.version));
      });
      if (!pulled) return;
    }
  };
  /** False for a row seen already in this pass, or left in step by the previous pass in this version. */
  const needsLookup = (row: Row): boolean => {
    if (seen.has(row.key)) return false;
    seen.add(row.key);
    const signature = versionSignature(row.version);
    if (previous.inStep.get(row.key) !== signature) return true;
    inStep.set(row.key, signature);
    return false;
  };
  const consider = async (row: Row) => {
    if (!needsLookup(row)) {
      options.progress?.compared(1, 0, false);
      return;
    }
    batch.push(row);
    if (batch.length >= BATCH_SIZE) {
      const full = batch;
      batch = [];
      await compare(full);
    }
  };

  // On the relay beat, what arrived since the last relay scan whatever its producer
  // time (a record relayed late through another server); otherwise the cheaper changes.
  const relayDue = entity.relayedChanges !== undefined && (previous.relay === undefined || summary.now - previous.relay.at >= summary.settings.relayScanIntervalMs);
  const relaySince = previous.relay === undefined ? previous.mark : previous.relay.mark;
  const changes = relayDue ? entity.relayedChanges!(remote, relaySince, summary) : entity.changes(remote, previous.mark, summary);
  let relayMark = relaySince;
  // The changes are read to their end, and the query closed, before a record moves:
  // PuppetDB 8 cuts a query at query-timeout-default over its whole streamed answer.
  const changed: Row[] = [];
  for await (const change of run.counted(changes, 'remote')) {
    if (run.stopped) break;
    // Logged and counted by the run; the overlap or the next reconciliation reads it again.
    if (isUnreadable(change)) continue;
    mark = laterMark(mark, change.mark);
    relayMark = laterMark(relayMark, change.mark);
    changed.push(change.row);
  }
  options.progress?.expectParts([changed.length + previous.retry.size]);
  for (const row of changed) await consider(row);
  // A row that changed again was just read in its newer version; the others are tried as they were.
  for (const row of previous.retry.values() as Iterable<Row>) await consider(row);
  if (batch.length > 0 && !run.stopped) await compare(batch);
  options.progress?.compared(0, 0, !run.stopped);
  await run.idle();
  const relay = relayDue ? { mark: relayMark, at: summary.now } : previous.relay;
  return { mark, reconciledAt: previous.reconciledAt, inStep, retry: run.failedRows, ...(relay && { relay }) };
}
