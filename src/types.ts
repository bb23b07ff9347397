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
