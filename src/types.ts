/**
 * The types the entities, the engine and the service share. This module imports
 * nothing, so no two modules import each other in a circle through it.
 */

export type EntityName = 'catalogs' | 'catalog-inputs' | 'factsets' | 'fact-expiration' | 'reports' | 'nodes';

/**
 * What precedence compares: the later `time` wins. At equal time, two rows with the
 * same `identity`, or the same `tieBreak`, are the same record. Otherwise it is a tie:
 * decided by the records' content for an entity whose summary row is not the whole
 * record (its tieBreak is a fingerprint: a server's hash, the producer), or else by the
 * greater `tieBreak` (compared element by element as strings). Either way every server
 * picks the same winner, and a tie never swaps back and forth.
 */
export interface Version {
  readonly time: number;
  readonly tieBreak: readonly string[];
  /**
   * A report's transaction_uuid: part of its key, and a report is never replaced, so
   * rows of one key are one report whatever hash each server computed for it (a PuppetDB
   * upgrade may change how hashes are computed). No other entity has one: a factset's
   * producer or a catalog's catalog_uuid does not make two records' content equal.
   */
  readonly identity?: string;
}

export interface SummaryRow {
  /** Unique within the entity: the certname for per-node entities. */
  readonly key: string;
  readonly certname: string;
  readonly version: Version;
}

/**
 * A summary row the sidecar could not read, with whatever identifies it. It is logged,
 * counted and skipped: a local one keeps the remote row of its key from being pulled
 * (its local version is unknown), and the next pass reads it again.
 */
export interface UnreadableRow {
  readonly unreadable: Error;
  /** When they could be read. */
  readonly key?: string;
  readonly certname?: string;
}

/** Why a remote row is pulled. */
export type PullReason = 'missing' | 'newer' | 'tie';

/**
 * `reconcile` compares everything each server holds, exactly; `incremental` reads only
 * what the remote received since the previous pass (docs/architecture.md).
 */
export type PassKind = 'reconcile' | 'incremental';

export interface EntityResult {
  readonly entity: EntityName;
  /** True when the entity ran to its end, no record failed and no row was skipped. */
  readonly ok: boolean;
  readonly transferred: number;
  readonly failed: number;
  /** Summary rows that could not be read, on either side: their keys were left alone. */
  readonly skipped: number;
  /** How the entity was compared: an incremental pass reconciles an entity that has no watermark yet. */
  readonly kind: PassKind;
  /** Summary rows read from the remote and from the local server. */
  readonly remoteRows: number;
  readonly localRows: number;
}

export interface PassResult {
  readonly remote: string;
  readonly kind: PassKind;
  readonly ok: boolean;
  readonly entities: readonly EntityResult[];
  /** Why the pass failed, one line with its code; absent when it succeeded. */
  readonly error?: string;
}

/** Told of every pass, entity and record as they end: the metrics. */
export interface PassObserver {
  recordFinished(remote: string, entity: EntityName, durationMs: number, ok: boolean): void;
  entityFinished(remote: string, result: EntityResult, durationMs: number): void;
  passFinished(remote: string, result: PassResult, durationMs: number): void;
}

/**
 * How one entity of a pass gets on, told by the engine as it runs (src/progress/).
 * The remote rows are compared part by part (a reconciliation's summary segments, an
 * incremental pass's changes); what is to do is known for the parts compared, and
 * estimated from the rows expected in the others.
 */
export interface EntityProgress {
  /** The remote rows each part is expected to hold, in the order the parts are compared; undefined where unknown until it is read. */
  expectParts(rows: readonly (number | undefined)[]): void;
  /** Remote rows of the current part compared, `pulls` of them to transfer; `partEnd` when the part is compared whole. */
  compared(rows: number, pulls: number, partEnd: boolean): void;
  /** A summary row read. */
  rowRead(side: 'remote' | 'local'): void;
  /** A pull ended: the record applied here, failed, or found in step (a tie by content). */
  pullEnded(outcome: 'transferred' | 'failed' | 'in-step'): void;
  /** The entity ended, whichever way. */
  finished(): void;
}

/** Follows the progress of the entities of every pass: `run` and `once` make one. */
export interface ProgressObserver {
  entityStarted(remote: string, entity: EntityName, kind: PassKind): EntityProgress;
}

/** One entity in progress, as the progress lines, /status and the metrics show it. */
export interface EntityProgressView {
  readonly remote: string;
  readonly entity: EntityName;
  readonly kind: PassKind;
  /** Milliseconds since the epoch. */
  readonly startedAt: number;
  readonly elapsedMs: number;
  /** Records whose pull ended, however: transferred, failed, or found in step (a tie by content). */
  readonly done: number;
  /** Records the entity pulls in all, those done included; null until a row is compared. */
  readonly toDo: number | null;
  /** Whether toDo is exact (every part compared) rather than estimated from the parts still to read. */
  readonly toDoComplete: boolean;
  readonly transferred: number;
  readonly failed: number;
  /** The parts the remote rows are compared in, and how many are compared. */
  readonly parts: number;
  readonly partsCompared: number;
  /** Summary rows read so far, from the remote and from the local server. */
  readonly remoteRows: number;
  readonly localRows: number;
  /** Records done per second over the last two minutes. */
  readonly recordsPerSecond: number;
  /** Seconds until toDo is done at that rate; null while toDo is unknown or nothing moves. */
  readonly etaSeconds: number | null;
}
