import type { EntityName, SummaryRow, Version } from '../types.ts';

/** What a sidecar knows of one entity of one remote between passes. */
export interface EntitySyncState {
  /**
   * Where the next incremental pass reads from: the newest receive time (or, for
   * records without one, producer time) seen on the remote; null when it held nothing.
   */
  readonly mark: number | null;
  /** When the last reconciliation of the entity completed, ms since the epoch (local clock). */
  readonly reconciledAt: number;
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
    if (!state) return undefined;
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
