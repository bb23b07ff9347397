import { performance } from 'node:perf_hooks';
import type { Config } from '../config/types.ts';
import { isUnreadable, type Entity, type SummaryContext } from '../entities/entity.ts';
import { SyncError, type ErrorCode } from '../errors.ts';
import { logEntityName, type Logger } from '../log.ts';
import type { PuppetDbClient } from '../puppetdb/client.ts';
import { diffSummaries, indexByKey, type Keyed } from './diff.ts';
import type { EntityName, PullReason, SummaryRow, UnreadableRow } from '../types.ts';
import { ENTITIES, NODE_PURGE_EXCLUSIONS, clientFor as defaultClientFor } from '../wiring.ts';

/**
 * `diff`: how far the local server is from each remote, counted with the very
 * summaries, exclusions and precedence a pass uses, without transferring anything.
 * Per remote and entity: the records a pass would pull because they are missing
 * here, older here, or tied in time with different content that wins the tie.
 */

export interface DivergenceCounts {
  /** The remote has the record, the local server does not (reason `missing`). */
  readonly missing: number;
  /** The local record is older (reason `newer`). */
  readonly older: number;
  /** Equal time, different content, and the remote's wins the tie (reason `tie`). */
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
 * out. As a pass other than the first: initial-report-threshold hides nothing.
 *
 * A summary that cannot be read makes an error for that entity (the local summary:
 * for every remote; the remote's inactive nodes: for every entity of that remote);
 * the other remotes and entities are still measured. It does not throw: every
 * remote has every entity, counted or with its error. Memory: one local summary
 * index at a time, the remote summaries are streamed.
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
          countEntity(entity, remote, localIndex, gone, summary, options.certnameFilter).then(
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
  localIndex: ReadonlyMap<string, Keyed<Row>>,
  excludedCertnames: ReadonlySet<string>,
  summary: SummaryContext,
  certnameFilter: ((certname: string) => boolean) | undefined,
): Promise<DivergenceCounts> {
  const counts = { missing: 0, older: 0, tied: 0 };
  const actions = diffSummaries(readable(entity.remoteSummary(remote, summary)), localIndex, { pullWhenMissing: entity.pullWhenMissing, excludedCertnames });
  for await (const action of actions) {
    if (certnameFilter && !certnameFilter(action.row.certname)) continue;
    counts[COUNTER[action.reason]]++;
  }
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

function isError(entity: EntityDivergence): entity is Extract<EntityDivergence, { error: DivergenceError }> {
  return 'error' in entity;
}

/** Records that differ (missing + older + tied) over the entities that could be measured. */
export function differingRecords(report: DivergenceReport): number {
  let total = 0;
  for (const remote of report.remotes) for (const entity of remote.entities) if (!isError(entity)) total += entity.missing + entity.older + entity.tied;
  return total;
}

/** Entities (of all remotes) whose summaries could not be read. */
export function divergenceErrors(report: DivergenceReport): number {
  return report.remotes.reduce((sum, remote) => sum + remote.entities.filter(isError).length, 0);
}

/** 0: in step; 1: some record differs; 2: something could not be measured (wins over 1). */
export function divergenceExitCode(report: DivergenceReport): 0 | 1 | 2 {
  if (divergenceErrors(report) > 0) return 2;
  return differingRecords(report) > 0 ? 1 : 0;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * An aligned plain-text table (remote, entity, missing, older, tied), the error
 * messages if any, and a final line: in step, how many records differ, or how many
 * entities could not be measured.
 */
export function formatDivergenceTable(report: DivergenceReport): string {
  const header = ['REMOTE', 'ENTITY', 'MISSING', 'OLDER', 'TIED'];
  const rows: string[][] = [];
  const errors: string[] = [];
  for (const remote of report.remotes) {
    for (const entity of remote.entities) {
      if (isError(entity)) {
        rows.push([remote.remote, entity.entity, 'error', entity.error.code ?? 'unexpected error']);
        errors.push(`error: ${remote.remote} ${entity.entity}: ${entity.error.message}`);
      } else {
        rows.push([remote.remote, entity.entity, String(entity.missing), String(entity.older), String(entity.tied)]);
      }
    }
  }
  const widths = header.map((title, column) => Math.max(title.length, ...rows.filter((row) => row.length === header.length).map((row) => row[column]!.length)));
  const line = (cells: string[]) => {
    if (cells.length < header.length) {
      // An error row: remote and entity aligned, then the code.
      return [cells[0]!.padEnd(widths[0]!), cells[1]!.padEnd(widths[1]!), cells.slice(2).join(' ')].join('  ');
    }
    return cells.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd();
  };
  const lines = [`local ${report.local}, measured at ${report.measuredAt} in ${report.elapsedMs} ms`, '', line(header), ...rows.map(line), ''];
  lines.push(...errors);
  const differing = differingRecords(report);
  const failed = divergenceErrors(report);
  const totals = sumCounts(report);
  const detail = `${totals.missing} missing, ${totals.older} older, ${totals.tied} tied`;
  if (failed > 0) lines.push(`error: ${plural(failed, 'entity', 'entities')} could not be measured; ${plural(differing, 'record differs', 'records differ')} in the others (${detail})`);
  else if (differing > 0) lines.push(`not in step: ${plural(differing, 'record differs', 'records differ')} (${detail})`);
  else lines.push('in step: no record differs');
  return `${lines.join('\n')}\n`;
}

function sumCounts(report: DivergenceReport): DivergenceCounts {
  const totals = { missing: 0, older: 0, tied: 0 };
  for (const remote of report.remotes) {
    for (const entity of remote.entities) {
      if (isError(entity)) continue;
      totals.missing += entity.missing;
      totals.older += entity.older;
      totals.tied += entity.tied;
    }
  }
  return totals;
}

/** What `diff --json` prints: entities keyed by name, for jq (`.remotes[].entities.reports.missing`). */
export interface DivergenceJson {
  readonly local: string;
  readonly measuredAt: string;
  readonly elapsedMs: number;
  /** True when every entity was measured and no record differs (exit 0). */
  readonly inStep: boolean;
  /** Records that differ over all remotes and entities measured. */
  readonly differing: number;
  /** Entities that could not be measured. */
  readonly errors: number;
  readonly exitCode: 0 | 1 | 2;
  readonly remotes: readonly {
    readonly remote: string;
    readonly differing: number;
    readonly entities: Readonly<Partial<Record<EntityName, DivergenceCounts | { readonly error: DivergenceError }>>>;
  }[];
}

export function divergenceJson(report: DivergenceReport): DivergenceJson {
  const exitCode = divergenceExitCode(report);
  return {
    local: report.local,
    measuredAt: report.measuredAt,
    elapsedMs: report.elapsedMs,
    inStep: exitCode === 0,
    differing: differingRecords(report),
    errors: divergenceErrors(report),
    exitCode,
    remotes: report.remotes.map((remote) => ({
      remote: remote.remote,
      differing: differingRecords({ ...report, remotes: [remote] }),
      entities: Object.fromEntries(
        remote.entities.map((entity) =>
          isError(entity)
            ? [entity.entity, { error: entity.error }]
            : [entity.entity, { missing: entity.missing, older: entity.older, tied: entity.tied }],
        ),
      ),
    })),
  };
}

/** The text `diff --json` prints: divergenceJson, indented, with a final newline. */
export function formatDivergenceJson(report: DivergenceReport): string {
  return `${JSON.stringify(divergenceJson(report), null, 2)}\n`;
}
