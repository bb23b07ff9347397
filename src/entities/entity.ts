import type { SyncSettings } from '../config/types.ts';
import { SyncError } from '../errors.ts';
import type { QuerySpec } from '../puppetdb/client.ts';
import type { Command } from '../puppetdb/command.ts';
import type { EntityName, PullReason, SummaryRow, UnreadableRow } from '../types.ts';
import { FieldReader, type Timestamp } from './fields.ts';
import { isSubmittable, queryTimestamp } from './timestamps.ts';

/** Rows looked up per query by key in incremental passes: a query stays well under PuppetDB's limits. */
export const BATCH_SIZE = 500;

/** The rows of an entity's recordListQueries, by the same names. */
export type RecordLists = Readonly<Record<string, readonly unknown[]>>;

export interface QuerySource {
  query(spec: QuerySpec): AsyncIterable<unknown>;
}

/** What a summary may depend on besides the server: the time and the pass. */
export interface SummaryContext {
  /** Milliseconds since the epoch, fixed for the whole pass. */
  readonly now: number;
  /** No reconciliation against this remote has completed since the process started. */
  readonly firstPass: boolean;
  readonly settings: SyncSettings;
}

/** A part of a long summary by the entity's own time: from (inclusive) to (exclusive), ms since the epoch. */
export interface SummarySegment {
  readonly from: number;
  readonly to: number;
  /** The remote rows the part is expected to hold, as counted before it is read: what progress estimates from. */
  readonly rows?: number;
}

/** A remote row an incremental pass read, and the watermark it moves the entity to. */
export interface Change<Row extends SummaryRow = SummaryRow> {
  readonly row: Row;
  /** Milliseconds since the epoch, on the clock the entity's watermark is kept in; null: none. */
  readonly mark: number | null;
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
  /**
   * Whether a tie (equal time, rows that differ) is decided by the records' content,
   * both read, rather than by the rows' tie-break: true where the summary row is not
   * the whole record, so that its tie-break is a fingerprint and not the content.
   */
  readonly tiesByContent: boolean;
  /**
   * Whether PuppetDB drops this entity's records report-ttl after their producer time
   * (reports), besides node-purge-ttl: the spool never delivers one past it.
   */
  readonly keptByReportTtl?: boolean;
  /**
   * The parts a reconciliation reads one after another, together covering all the
   * summary, for an entity whose summary is too long for one query (reports: a few
   * days each); absent, the summary is one part.
   */
  segments?(remote: QuerySource, context: SummaryContext): Promise<readonly SummarySegment[]>;
  /**
   * Reconciliation: everything the remote holds (in `segment`, when given), sorted by
   * key. Here and in changes and counterparts, a row that cannot be read comes as an
   * UnreadableRow (readRow), so that one bad row does not end the rest.
   */
  remoteSummary(remote: QuerySource, context: SummaryContext, segment?: SummarySegment): AsyncIterable<Row | UnreadableRow>;
  /** Reconciliation: everything the local server holds (in `segment`, when given), sorted by key. */
  localSummary(local: QuerySource, context: SummaryContext, segment?: SummarySegment): AsyncIterable<Row | UnreadableRow>;
  /**
   * The watermark incremental passes go on from after a reconciliation. Read before
   * the remote summary, so that nothing the remote receives meanwhile is skipped;
   * null when the entity keeps no watermark or the remote holds nothing yet.
   */
  watermark(remote: QuerySource, context: SummaryContext): Promise<number | null>;
  /**
   * Incremental passes: the remote rows that may have changed since the watermark
   * `since` (null: from the start), each with the watermark it stands for. Rows seen
   * before are listed again within the overlap; the engine skips those in step.
   */
  changes(remote: QuerySource, since: number | null, context: SummaryContext): AsyncIterable<Change<Row> | UnreadableRow>;
  /**
   * Incremental passes, on the slower relay beat (sync.relay-scan-interval), for an
   * entity whose `changes` bound their rows by producer time: every row received
   * since `since` whatever its producer time, so that a record relayed late through
   * another server is seen. Absent: `changes` already sees every row received since.
   */
  relayedChanges?(remote: QuerySource, since: number | null, context: SummaryContext): AsyncIterable<Change<Row> | UnreadableRow>;
  /** The rows `source` holds under the keys of `rows` (at most a batch: one query each). */
  counterparts(source: QuerySource, rows: readonly Row[], context: SummaryContext): AsyncIterable<Row | UnreadableRow>;
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
  /**
   * Pure conversion, with RecordReader: throws PDBSYNC_ERR_RECORD_MALFORMED for a record
   * it cannot convert, PDBSYNC_ERR_RECORD_INVALID for a value PuppetDB would refuse or
   * change, PDBSYNC_ERR_RECORD_MISMATCH for a record that is not the one `row` names.
   */
  toCommand(row: Row, record: unknown, reason: PullReason, lists: RecordLists): Command;
  /**
   * What a content tie compares of a command (`toCommand`'s, for a reason other than
   * `tie`): its payload, with any array whose order PuppetDB does not keep put in one
   * order, so that equal records compare equal whatever order a server lists them in.
   * Absent: the payload as it is.
   */
  tieContent?(command: Command): unknown;
  /**
   * The spool (src/spool/): the summary row of the record `command` writes (its payload
   * parsed), to be looked up with `counterparts` and compared by precedence as a remote
   * row; undefined for a command of another entity. Where the row's tie-break holds a
   * server's own fingerprint (a hash) the command cannot give, it is left empty: such
   * entities' ties go by content, and the spool leaves those to the sidecars. Throws
   * PDBSYNC_ERR_RECORD_MALFORMED when the payload lacks what the row needs.
   */
  commandRow?(command: Command): Row | undefined;
}

/**
 * A query row as `read` makes it, or, when it cannot be read, an UnreadableRow with its
 * certname if it is a string, and its key: the `key` field if it is a string, or what
 * `key` makes of the row's fields.
 */
export function readRow<T>(raw: unknown, read: (raw: unknown) => T, key: 'certname' | ((fields: Readonly<Record<string, unknown>>) => string | undefined)): T | UnreadableRow {
  try {
    return read(raw);
  } catch (error) {
    // Anything but a field reader's error is a bug, not a bad row.
    if (!(error instanceof SyncError)) throw error;
    const fields = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
    const [rowKey, certname] = [typeof key === 'string' ? text(fields[key]) : key(fields), text(fields.certname)];
    return { unreadable: error, ...(rowKey !== undefined && { key: rowKey }), ...(certname !== undefined && { certname }) };
  }
}

export function isUnreadable(item: object): item is UnreadableRow {
  return 'unreadable' in item;
}

/**
 * The producer_timestamp to submit. PuppetDB overwrites factsets and catalogs at an
 * equal timestamp but keeps catalog inputs and facts-expiration settings unless the
 * new one is strictly later: for those, the winner of a tie is written 1 ms later,
 * and the other server then takes it as newer, so both converge within two rounds.
 */
export function submittedTimestamp(time: Timestamp, reason: PullReason, overwritesAtEqualTime: boolean): string {
  if (reason !== 'tie' || overwritesAtEqualTime) return time.text;
  if (!isSubmittable(time.ms + 1)) throw new SyncError('PDBSYNC_ERR_RECORD_INVALID', `${time.text} won a tie, and 1 ms later is past what PuppetDB gives back unchanged`);
  return new Date(time.ms + 1).toISOString();
}

/**
 * Where an incremental query on a receive time starts: PuppetDB stamps a record with
 * the time it received the command, and commits it after the command waited in its
 * queue, so a record can appear with a receive time older than one already seen.
 */
export function receivedSince(since: number, settings: SyncSettings): string {
  return queryTimestamp(since - settings.watermarkOverlapMs);
}

/**
 * Where an incremental query on a producer time starts, for records that carry no
 * receive time (or, for reports, to bound the day partitions read): a record may reach
 * the remote this late after it was produced (relayed from a third server, queued).
 */
export function producedSince(since: number, settings: SyncSettings): string {
  return queryTimestamp(since - settings.lateArrivalWindowMs);
}

/** The value of a one-row `["function", "max", field]` query, or null when there are no rows. */
export async function readMax(source: QuerySource, spec: QuerySpec, what: string): Promise<number | null> {
  let max: number | null = null;
  for await (const raw of source.query(spec)) {
    const value = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', what).optionalTimestamp('max');
    if (value) max = Math.max(max ?? value.ms, value.ms);
  }
  return max;
}

/** The greater of two watermarks, null standing for none. */
export function laterMark(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
