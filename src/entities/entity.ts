import type { SyncSettings } from '../config/types.ts';
import type { Command, QuerySpec } from '../puppetdb/client.ts';
import type { PullReason } from '../sync/precedence.ts';

export type EntityName = 'catalogs' | 'catalog-inputs' | 'factsets' | 'fact-expiration' | 'reports' | 'nodes';

/**
 * What precedence compares: the later `time` wins; at equal time the greater
 * `tieBreak` (compared element by element as strings) wins, so every server picks
 * the same winner and a tie never swaps back and forth.
 */
export interface Version {
  readonly time: number;
  readonly tieBreak: readonly string[];
}

export interface SummaryRow {
  /** Unique within the entity: the certname for per-node entities. */
  readonly key: string;
  readonly certname: string;
  readonly version: Version;
}

/** The rows of an entity's recordListQueries, by the same names. */
export type RecordLists = Readonly<Record<string, readonly unknown[]>>;

export interface QuerySource {
  query(spec: QuerySpec): AsyncIterable<unknown>;
}

/** What a summary may depend on besides the server: the time and the pass. */
export interface SummaryContext {
  /** Milliseconds since the epoch, fixed for the whole pass. */
  readonly now: number;
  /** The first pass against this remote since the process started. */
  readonly firstPass: boolean;
  readonly settings: SyncSettings;
}

/**
 * The contract every entity meets. The engine knows nothing else about an entity:
 * it diffs summaries by key and version, fetches the record when the entity asks
 * for one, converts it with `toCommand` and submits the command locally.
 */
export interface Entity<Row extends SummaryRow = SummaryRow> {
  readonly name: EntityName;
  /** `record` for records fetched from the remote, `deactivate` for node status. */
  readonly logPhase: 'record' | 'deactivate';
  /** Whether a row the local server lacks entirely is pulled. */
  readonly pullWhenMissing: boolean;
  remoteSummary(remote: QuerySource, context: SummaryContext): AsyncIterable<Row>;
  localSummary(local: QuerySource, context: SummaryContext): AsyncIterable<Row>;
  /** Fields that identify a row in its record log lines besides its certname. */
  logFields?(row: Row): Record<string, unknown>;
  /** The remote query for the whole record (one row), or undefined when the summary row is enough. */
  recordQuery(row: Row): QuerySpec | undefined;
  /**
   * Further remote queries, by name, whose rows (all of them) complete the record, for
   * a part PuppetDB serves far more cheaply on its own. They run after `recordQuery`, so
   * if the record changes in between, the copy submitted keeps the older version and
   * is pulled again on the next pass, never left holding older parts than its version.
   */
  recordListQueries?(row: Row): Readonly<Record<string, QuerySpec>>;
  /** Pure conversion; throws PDBSYNC_ERR_RECORD_MALFORMED for a record it cannot convert. */
  toCommand(row: Row, record: unknown, reason: PullReason, lists: RecordLists): Command;
}

/**
 * The producer_timestamp to submit. PuppetDB overwrites factsets and catalogs at an
 * equal timestamp but keeps catalog inputs and facts-expiration settings unless the
 * new one is strictly later: for those, the winner of a tie is written 1 ms later,
 * and the other server then takes it as newer, so both converge within two rounds.
 */
export function submittedTimestamp(text: string, reason: PullReason, overwritesAtEqualTime: boolean): string {
  if (reason !== 'tie' || overwritesAtEqualTime) return text;
  return new Date(Date.parse(text) + 1).toISOString();
}
