import { isUnreadable } from '../entities/entity.ts';
import type { PullReason, SummaryRow, UnreadableRow } from '../types.ts';
import { pullReason, type PrecedenceRule } from './precedence.ts';

/** A remote row to pull, and why; a tie carries the local row it ties with, which a tie decided by content reads too. */
export type PullAction<Row extends SummaryRow> =
  | { readonly row: Row; readonly reason: Exclude<PullReason, 'tie'> }
  | { readonly row: Row; readonly reason: 'tie'; readonly local: Row };

export interface DiffOptions extends PrecedenceRule {
  /** Certnames never pulled in this pass (gone from the remote's point of view for longer than node-purge-ttl). */
  readonly excludedCertnames: ReadonlySet<string>;
}

/** The diff options of an entity: its own precedence rule, and the certnames this pass leaves alone. */
export function diffOptionsFor(rule: PrecedenceRule, excludedCertnames: ReadonlySet<string>): DiffOptions {
  return { pullWhenMissing: rule.pullWhenMissing, tiesByContent: rule.tiesByContent, excludedCertnames };
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

/** A summary row, or one that could not be read but whose key could: the diff leaves that key alone. */
export type Keyed<Row extends SummaryRow> = Row | (UnreadableRow & { readonly key: string });

/**
 * The remote row to pull, if any, against the local row of its key. Nothing is pulled
 * over a local row that could not be read: its version is unknown, and the next pass
 * compares it again.
 */
function decide<Row extends SummaryRow>(row: Row, counterpart: Keyed<Row> | undefined, options: DiffOptions): PullAction<Row> | undefined {
  if (options.excludedCertnames.has(row.certname)) return undefined;
  if (counterpart === undefined) return options.pullWhenMissing ? { row, reason: 'missing' } : undefined;
  if (isUnreadable(counterpart)) return undefined;
  const reason = pullReason(row.version, counterpart.version, options);
  if (reason === 'tie') return { row, reason, local: counterpart };
  return reason ? { row, reason } : undefined;
}

/**
 * The rows as they come, checked to ascend by key; a key listed again is dropped, and
 * so is a row that could not be read nor keyed (the entity's run has logged it).
 */
async function* ascending<Row extends SummaryRow>(rows: AsyncIterable<Row | UnreadableRow>, side: 'remote' | 'local'): AsyncGenerator<Keyed<Row>> {
  let previous: string | undefined;
  for await (const row of rows) {
    if (row.key === undefined) continue;
    if (previous !== undefined) {
      if (row.key < previous) throw new SummaryOutOfOrder(side, previous, row.key);
      if (row.key === previous) continue;
    }
    previous = row.key;
    yield row as Keyed<Row>;
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
  remoteRows: AsyncIterable<Row | UnreadableRow>,
  localRows: AsyncIterable<Row | UnreadableRow>,
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
      const action = isUnreadable(row) ? undefined : decide(row, counterpart, options);
      if (action) yield action;
      next = await remote.next();
    }
  } finally {
    await Promise.allSettled([remote.return(undefined), local.return(undefined)]);
  }
}

/** The rows by key; one that could not be read stays under its key, if it has one, to keep that key from being pulled. */
export async function indexByKey<Row extends SummaryRow>(rows: AsyncIterable<Row | UnreadableRow>): Promise<Map<string, Keyed<Row>>> {
  const index = new Map<string, Keyed<Row>>();
  for await (const row of rows) if (row.key !== undefined) index.set(row.key, row as Keyed<Row>);
  return index;
}

/**
 * The remote rows to pull, as they stream in, against the local summary held whole:
 * for summaries not sorted the way mergeSummaries needs, and for `diff`, which
 * compares one local summary with every remote. A key the remote lists twice is
 * pulled at most once, so one pass never submits two commands for one record.
 */
export async function* diffSummaries<Row extends SummaryRow>(
  remoteRows: AsyncIterable<Row | UnreadableRow>,
  localIndex: ReadonlyMap<string, Keyed<Row>>,
  options: DiffOptions,
): AsyncGenerator<PullAction<Row>> {
  const seen = new Set<string>();
  for await (const row of remoteRows) {
    if (isUnreadable(row) || seen.has(row.key)) continue;
    seen.add(row.key);
    const action = decide(row, localIndex.get(row.key), options);
    if (action) yield action;
  }
}

export interface BatchDiff<Row extends SummaryRow> {
  readonly pull: readonly PullAction<Row>[];
  /** Remote rows that need nothing: in step, older than the local row, or excluded. */
  readonly settled: readonly Row[];
}

/**
 * Incremental passes: a batch of remote rows against the local rows under the same
 * keys. Each remote row is pulled, settled, or neither when its local row could not be
 * read (then the next pass compares it again); rows are expected unique by key.
 */
export function diffBatch<Row extends SummaryRow>(remoteRows: readonly Row[], localRows: readonly Keyed<Row>[], options: DiffOptions): BatchDiff<Row> {
  const local = new Map(localRows.map((row) => [row.key, row]));
  const pull: PullAction<Row>[] = [];
  const settled: Row[] = [];
  for (const row of remoteRows) {
    const counterpart = local.get(row.key);
    const action = decide(row, counterpart, options);
    if (action) pull.push(action);
    else if (!counterpart || !isUnreadable(counterpart)) settled.push(row);
  }
  return { pull, settled };
}
