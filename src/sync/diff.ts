import type { PullReason, SummaryRow } from '../types.ts';
import { pullReason } from './precedence.ts';

export interface PullAction<Row extends SummaryRow> {
  readonly row: Row;
  readonly reason: PullReason;
}

export interface DiffOptions {
  readonly pullWhenMissing: boolean;
  /** Certnames never pulled in this pass (gone from the remote's point of view for longer than node-purge-ttl). */
  readonly excludedCertnames: ReadonlySet<string>;
}

/**
 * A summary was not in ascending key order: the server's PostgreSQL collation orders
 * keys otherwise than code points do. The pass then diffs the entity by index.
 */
export class SummaryOutOfOrder extends Error {
  constructor(side: 'remote' | 'local', previous: string, key: string) {
    super(`the ${side} summary lists ${JSON.stringify(key)} after ${JSON.stringify(previous)}`);
  }
}

/** The rows as they come, checked to ascend by key; a key listed again is dropped. */
async function* ascending<Row extends SummaryRow>(rows: AsyncIterable<Row>, side: 'remote' | 'local'): AsyncGenerator<Row> {
  let previous: string | undefined;
  for await (const row of rows) {
    if (previous !== undefined) {
      if (row.key < previous) throw new SummaryOutOfOrder(side, previous, row.key);
      if (row.key === previous) continue;
    }
    previous = row.key;
    yield row;
  }
}

/**
 * The remote rows to pull, merging two summaries sorted by key as they stream in:
 * both servers answer at once and neither summary is held, so memory does not
 * grow with the node count. Throws SummaryOutOfOrder when a summary is not sorted
 * the way the merge compares keys. Rows pulled before that are safe: at worst a
 * record the local server holds is taken for missing, and PuppetDB ignores a
 * command no newer than what it has.
 */
export async function* mergeSummaries<Row extends SummaryRow>(
  remoteRows: AsyncIterable<Row>,
  localRows: AsyncIterable<Row>,
  options: DiffOptions,
): AsyncGenerator<PullAction<Row>> {
  const remote = ascending(remoteRows, 'remote');
  const local = ascending(localRows, 'local');
  try {
    // The local summary is read once the remote has a row: an entity the remote has
    // nothing of (often nodes, fact-expiration, catalog-inputs) costs one query.
    let next = await remote.next();
    if (next.done) return;
    let localNext = await local.next();
    while (!next.done) {
      const row = next.value;
      while (!localNext.done && localNext.value.key < row.key) localNext = await local.next();
      const counterpart = !localNext.done && localNext.value.key === row.key ? localNext.value : undefined;
      if (!options.excludedCertnames.has(row.certname)) {
        const reason = pullReason(row.version, counterpart?.version, options.pullWhenMissing);
        if (reason) yield { row, reason };
      }
      next = await remote.next();
    }
  } finally {
    await Promise.allSettled([remote.return(undefined), local.return(undefined)]);
  }
}

export async function indexByKey<Row extends SummaryRow>(rows: AsyncIterable<Row>): Promise<Map<string, Row>> {
  const index = new Map<string, Row>();
  for await (const row of rows) index.set(row.key, row);
  return index;
}

/**
 * The remote rows to pull, as they stream in, against the local summary held whole:
 * for summaries not sorted the way mergeSummaries needs, and for `diff`, which
 * compares one local summary with every remote. A key the remote lists twice is
 * pulled at most once, so one pass never submits two commands for one record.
 */
export async function* diffSummaries<Row extends SummaryRow>(
  remoteRows: AsyncIterable<Row>,
  localIndex: ReadonlyMap<string, Row>,
  options: DiffOptions,
): AsyncGenerator<PullAction<Row>> {
  const seen = new Set<string>();
  for await (const row of remoteRows) {
    if (seen.has(row.key) || options.excludedCertnames.has(row.certname)) continue;
    seen.add(row.key);
    const reason = pullReason(row.version, localIndex.get(row.key)?.version, options.pullWhenMissing);
    if (reason) yield { row, reason };
  }
}

export interface BatchDiff<Row extends SummaryRow> {
  readonly pull: readonly PullAction<Row>[];
  /** Remote rows that need nothing: in step, older than the local row, or excluded. */
  readonly settled: readonly Row[];
}

/**
 * Incremental passes: a batch of remote rows against the local rows under the same
 * keys. Each remote row is either pulled or settled; rows are expected unique by key.
 */
export function diffBatch<Row extends SummaryRow>(remoteRows: readonly Row[], localRows: readonly Row[], options: DiffOptions): BatchDiff<Row> {
  const local = new Map(localRows.map((row) => [row.key, row]));
  const pull: PullAction<Row>[] = [];
  const settled: Row[] = [];
  for (const row of remoteRows) {
    const reason = options.excludedCertnames.has(row.certname) ? undefined : pullReason(row.version, local.get(row.key)?.version, options.pullWhenMissing);
    if (reason) pull.push({ row, reason });
    else settled.push(row);
  }
  return { pull, settled };
}
