import { performance } from 'node:perf_hooks';
import PQueue from 'p-queue';
import type { Config } from '../config/types.ts';
import { isUnreadable, type Entity, type SummaryContext } from '../entities/entity.ts';
import { SyncError, type ErrorCode } from '../errors.ts';
import { logEntityName, type Logger } from '../log.ts';
import type { PuppetDbClient } from '../puppetdb/client.ts';
import { resolveContentTie, type TieSides } from './content-tie.ts';
import { diffOptionsFor, diffSummaries, indexByKey, type Keyed, type PullAction } from './diff.ts';
import type { EntityName, PullReason, SummaryRow, UnreadableRow } from '../types.ts';
import { ENTITIES, NODE_PURGE_EXCLUSIONS, clientFor as defaultClientFor } from '../wiring.ts';

/**
 * `diff`: how far the local server is from each remote, counted with the very
 * summaries, exclusions and precedence a pass uses, without transferring anything.
 * Per remote and entity: the records a pass would pull because they are missing
 * here or older here, and those tied in time with different content.
 */

export interface DivergenceCounts {
  /** The remote has the record, the local server does not (reason `missing`). */
  readonly missing: number;
  /** The local record is older (reason `newer`). */
  readonly older: number;
  /**
   * Equal time, different content (reason `tie`). Where the summary row is not the
   * whole record (catalogs, catalog inputs, factsets), both records are read and
   * compared as a pass would, and a tie counts whichever wins it: the pass of one of
   * the two servers takes the other's record. Content found equal (servers that hash it
   * otherwise) is not counted. Elsewhere (facts expiration) only a tie the remote wins.
   */
  readonly tied: number;
}

export interface DivergenceError {
  /** The PDBSYNC_ERR_ code, or null for an unexpected error. */
  readonly code: ErrorCode | null;
  readonly message: string;
}

export type EntityDivergence =
  | ({ readonly entity: EntityName } & DivergenceCounts)
  | { readonly entity: EntityName; readonly error: DivergenceError };

export interface RemoteDivergence {
  readonly remote: string;
  /** Every entity, in the order of a pass. */
  readonly entities: readonly EntityDivergence[];
}

export interface DivergenceReport {
  readonly local: string;
  /** The `now` the summaries were read at (node-purge-ttl, report-ttl). */
  readonly measuredAt: string;
  readonly elapsedMs: number;
  readonly remotes: readonly RemoteDivergence[];
}

export interface DivergenceOptions {
  /** Opens a server; by default clientFor of once.ts. Every client opened is closed before returning. */
  readonly clientFor?: (url: string) => PuppetDbClient;
  /** Milliseconds since the epoch; by default the current time. */
  readonly now?: number;
  /** By default ENTITIES, in the order of a pass. */
  readonly entities?: readonly Entity[];
  /** Counts only the rows whose certname it accepts (to scope a measurement, as the tests do); by default every row. */
  readonly certnameFilter?: (certname: string) => boolean;
}

const COUNTER: Record<PullReason, keyof DivergenceCounts> = { missing: 'missing', newer: 'older', tie: 'tied' };

/**
 * Counts, for every configured remote and entity, what a pass would pull into the
 * local server: the same remote and local summaries, `diffSummaries`, nodes gone
 * from the remote past node-purge-ttl left out, reports older than report-ttl left
 * out. As a pass other than the first: initial-report-threshold hides nothing. A tie
 * the summaries cannot settle is settled as a pass would, by reading both records.
 *
 * A summary (or a tied record) that cannot be read makes an error for that entity
 * (the local summary: for every remote; the remote's inactive nodes: for every entity
 * of that remote); the other remotes and entities are still measured. It does not
 * throw: every remote has every entity, counted or with its error. Memory: one local
 * summary index at a time, the remote summaries are streamed, and sync.concurrency
 * tied records at a time.
 */
export async function measureDivergence(config: Config, log: Logger, options: DivergenceOptions = {}): Promise<DivergenceReport> {
  const started = performance.now();
  const now = options.now ?? Date.now();
  const entities = options.entities ?? ENTITIES;
  const summary: SummaryContext = { now, firstPass: false, settings: config.sync };
  const open = options.clientFor ?? ((url: string) => defaultClientFor(url, config, log));
  const opened: PuppetDbClient[] = [];
  const openClient = (url: string) => {
    const client = open(url);
    opened.push(client);
    return client;
  };
  const results = config.sync.remotes.map((remote) => ({ remote: remote.serverUrl, entities: [] as EntityDivergence[] }));
  try {
    const local = openClient(config.local.serverUrl);
    const remotes = config.sync.remotes.map((remote) => openClient(remote.serverUrl));
    const excluded = await Promise.all(
      remotes.map((remote) =>
        NODE_PURGE_EXCLUSIONS(remote, summary).then(
          (certnames) => ({ certnames }),
          (error: unknown) => ({ error: failure(log, error, { remote: remote.url }) }),
        ),
      ),
    );
    for (const entity of entities) {
      const measurable = remotes.flatMap((remote, i) => {
        const gone = excluded[i]!;
        if ('certnames' in gone) return [{ remote, i, gone: gone.certnames }];
        results[i]!.entities.push({ entity: entity.name, error: gone.error });
        return [];
      });
      if (measurable.length === 0) continue;
      let localIndex: ReadonlyMap<string, Keyed<SummaryRow>>;
      try {
        localIndex = await indexByKey(readable(entity.localSummary(local, summary)));
      } catch (error) {
        const reason = failure(log, error, { local: local.url, entity: logEntityName(entity.name) });
        for (const { i } of measurable) results[i]!.entities.push({ entity: entity.name, error: reason });
        continue;
      }
      const measured = await Promise.all(
        measurable.map(({ remote, gone }) =>
          countEntity(entity, remote, local, localIndex, gone, summary, options.certnameFilter).then(
            (counts): EntityDivergence => {
              log.debug({ remote: remote.url, entity: logEntityName(entity.name), ...counts }, 'divergence measured');
              return { entity: entity.name, ...counts };
            },
            (error: unknown): EntityDivergence => ({ entity: entity.name, error: failure(log, error, { remote: remote.url, entity: logEntityName(entity.name) }) }),
          ),
        ),
      );
      measurable.forEach(({ i }, n) => results[i]!.entities.push(measured[n]!));
    }
  } catch (error) {
    // Not a summary: a client that cannot be opened (TLS files). Every entity not measured yet is that error.
    const reason = failure(log, error, {});
    for (const result of results) {
      for (const entity of entities.slice(result.entities.length)) result.entities.push({ entity: entity.name, error: reason });
    }
  } finally {
    await Promise.allSettled(opened.map((client) => client.close()));
  }
  return { local: config.local.serverUrl, measuredAt: new Date(now).toISOString(), elapsedMs: Math.round(performance.now() - started), remotes: results };
}

async function countEntity<Row extends SummaryRow>(
  entity: Entity<Row>,
  remote: PuppetDbClient,
  local: PuppetDbClient,
  localIndex: ReadonlyMap<string, Keyed<Row>>,
  excludedCertnames: ReadonlySet<string>,
  summary: SummaryContext,
  certnameFilter: ((certname: string) => boolean) | undefined,
): Promise<DivergenceCounts> {
  const counts = { missing: 0, older: 0, tied: 0 };
  // Ties decided by content read records: sync.concurrency of them at a time, as a pass does.
  const { concurrency, maxRecordBytes } = summary.settings;
  const sides: TieSides = { remote, local, maxRecordBytes };
  const ties = new PQueue({ concurrency });
  let failed: { readonly error: unknown } | undefined;
  const countTie = async (action: Extract<PullAction<Row>, { reason: 'tie' }>) => {
    try {
      if ((await resolveContentTie(entity, action.row, action.local, sides)).verdict !== 'equal') counts.tied++;
    } catch (error) {
      failed ??= { error };
    }
  };
  const actions = diffSummaries(readable(entity.remoteSummary(remote, summary)), localIndex, diffOptionsFor(entity, excludedCertnames));
  try {
    for await (const action of actions) {
      if (certnameFilter && !certnameFilter(action.row.certname)) continue;
      if (action.reason !== 'tie' || !entity.tiesByContent) {
        counts[COUNTER[action.reason]]++;
        continue;
      }
      await ties.onSizeLessThan(concurrency);
      if (failed) break;
      void ties.add(() => countTie(action));
    }
  } finally {
    await ties.onIdle();
  }
  // A record that cannot be read or converted makes its entity an error: diff measures, and skips nothing.
  if (failed) throw failed.error;
  return counts;
}

/**
 * `diff` measures and skips nothing: a row that cannot be read makes its entity an
 * error, with the row's code, where a pass would log, count and skip it.
 */
async function* readable<Row extends SummaryRow>(rows: AsyncIterable<Row | UnreadableRow>): AsyncGenerator<Row> {
  for await (const row of rows) {
    if (isUnreadable(row)) throw row.unreadable;
    yield row;
  }
}

function failure(log: Logger, error: unknown, fields: Record<string, unknown>): DivergenceError {
  log.error({ ...fields, err: error }, `divergence not measured: ${error instanceof Error ? error.message : String(error)}`);
  return { code: error instanceof SyncError ? error.code : null, message: error instanceof Error ? error.message : String(error) };
}
