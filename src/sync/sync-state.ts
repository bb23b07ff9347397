import { laterMark } from '../entities/entity.ts';
import type { EntityName, PassKind, SummaryRow, Version } from '../types.ts';

/** What a sidecar knows of one entity of one remote between passes. */
export interface EntitySyncState {
  /**
   * Where the next incremental pass reads from: the newest receive time (or, for
   * records without one, producer time) seen on the remote; null when it held nothing.
   */
  readonly mark: number | null;
  /**
   * When the last reconciliation of the entity completed, ms since the epoch (local
   * clock); null while its first reconciliation runs: `mark` is then where that one
   * started, so that incremental passes keep pulling new records beside it.
   */
  readonly reconciledAt: number | null;
  /**
   * Remote rows the last incremental pass read and left in step, key -> version
   * signature: the overlap lists them again, and those unchanged need no local lookup.
   */
  readonly inStep: ReadonlyMap<string, string>;
  /** Rows whose transfer failed: the next incremental passes try them again, until the next reconciliation. */
  readonly retry: ReadonlyMap<string, SummaryRow>;
  /**
   * Where the last relay scan (Entity.relayedChanges) left off, and when it ran (ms,
   * local clock); absent before the first: the next incremental pass scans from `mark`.
   * Kept in memory only: after a restart, records relayed before it and not yet scanned
   * wait for the next reconciliation.
   */
  readonly relay?: { readonly mark: number | null; readonly at: number };
}

/** Where the state lives: in memory (this module), or in PostgreSQL where configured. */
export interface SyncStateStore {
  get(remote: string, entity: EntityName): EntitySyncState | undefined;
  set(remote: string, entity: EntityName, state: EntitySyncState): void;
}

export function versionSignature(version: Version): string {
  return JSON.stringify([version.time, version.identity ?? null, ...version.tieBreak]);
}

/**
 * When every one of `entities` was last reconciled against `remote` (the oldest of
 * them), or undefined when one never was: it is then reconciled on the next pass.
 */
export function lastReconciliation(store: SyncStateStore, remote: string, entities: readonly EntityName[]): number | undefined {
  let oldest: number | undefined;
  for (const entity of entities) {
    const state = store.get(remote, entity);
    if (!state || state.reconciledAt === null) return undefined;
    oldest = Math.min(oldest ?? state.reconciledAt, state.reconciledAt);
  }
  return oldest;
}

/** The state of a process that keeps nothing across restarts. */
export class MemorySyncState implements SyncStateStore {
  private readonly states = new Map<string, EntitySyncState>();

  get(remote: string, entity: EntityName): EntitySyncState | undefined {
    return this.states.get(`${remote} ${entity}`);
  }

  set(remote: string, entity: EntityName, state: EntitySyncState): void {
    this.states.set(`${remote} ${entity}`, state);
  }
}

/**
 * The state an entity's pass leaves, given what the store holds now (`current`): a
 * reconciliation and incremental passes of one remote run side by side, and either
 * may have ended while the other ran. `started` is the state the pass began from.
 * - the later watermark: each lane covers every record received up to its own;
 * - the later reconciliation;
 * - the rows left in step by the latest incremental pass (a reconciliation finds none);
 * - the rows to retry of this pass, plus those the other lane added meanwhile (in
 *   `current` but not in `started`);
 * - the relay scan that reached further.
 */
export function combineStates(current: EntitySyncState | undefined, started: EntitySyncState | undefined, next: EntitySyncState, kind: PassKind): EntitySyncState {
  if (current === undefined || current === started) return next;
  const retry = new Map(next.retry);
  for (const [key, row] of current.retry) if (!started?.retry.has(key) && !retry.has(key)) retry.set(key, row);
  const relay = laterRelay(current.relay, next.relay);
  return {
    mark: laterMark(current.mark, next.mark),
    reconciledAt: current.reconciledAt === null ? next.reconciledAt : Math.max(current.reconciledAt, next.reconciledAt ?? current.reconciledAt),
    inStep: kind === 'reconcile' ? current.inStep : next.inStep,
    retry,
    ...(relay && { relay }),
  };
}

type Relay = NonNullable<EntitySyncState['relay']>;

function laterRelay(a: Relay | undefined, b: Relay | undefined): Relay | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const [am, bm] = [a.mark ?? -Infinity, b.mark ?? -Infinity];
  return am > bm || (am === bm && a.at > b.at) ? a : b;
}
