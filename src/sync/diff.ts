import type { SummaryRow } from '../entities/entity.ts';
import { pullReason, type PullReason } from './precedence.ts';

export interface PullAction<Row extends SummaryRow> {
  readonly row: Row;
  readonly reason: PullReason;
}

export interface DiffOptions {
  readonly pullWhenMissing: boolean;
  /** Certnames never pulled in this pass (gone from the remote's point of view for longer than node-purge-ttl). */
  readonly excludedCertnames: ReadonlySet<string>;
}

export async function indexByKey<Row extends SummaryRow>(rows: AsyncIterable<Row>): Promise<Map<string, Row>> {
  const index = new Map<string, Row>();
  for await (const row of rows) index.set(row.key, row);
  return index;
}

/**
 * The remote rows to pull, as they stream in: only the local summary is held
 * whole. A key the remote lists twice is pulled at most once, so one pass never
 * submits two commands for one record.
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
