import type { EntityProgressStatus } from '../progress/view.ts';
import type { StoredPass } from '../state/store.ts';
import type { EntityName, EntityResult, PassKind } from '../types.ts';

/** What `run` knows of each remote, for GET /status, /health and the metrics. */

export type RemoteState = 'running' | 'waiting' | 'stopped' | 'standby';

/** `single`: no leader election (no state database, or state.leader-election false): this sidecar syncs. */
export type SidecarRole = 'leader' | 'standby' | 'single';

export interface SidecarStatus {
  readonly role: SidecarRole;
  /** Whether some sidecar leads, as the state database last showed; null without an election or when it could not be asked. */
  readonly leaderPresent: boolean | null;
  /** null: the sync state is kept in memory only (no `state` block). */
  readonly stateDatabase: { readonly database: string; readonly available: boolean; readonly error: string | null } | null;
}

export interface PassSummary {
  /** ISO 8601. */
  readonly start: string;
  readonly end: string;
  readonly kind: PassKind;
  readonly ok: boolean;
  readonly entities: readonly EntityResult[];
}

/** What the scheduler knows of a remote's passes. */
export interface ScheduleStatus {
  readonly remote: string;
  readonly state: RemoteState;
  readonly lastPass: PassSummary | null;
  /** End of the last pass that succeeded / failed, ISO 8601. */
  readonly lastSuccess: string | null;
  /**
   * Seconds since the start of the last pass that succeeded: everything the remote
   * had received by then is here, so no record has been missing longer; null before.
   */
  readonly lagSeconds: number | null;
  readonly lastFailure: string | null;
  readonly consecutiveFailures: number;
  /** When the next pass is due, ISO 8601; null while a pass runs or once stopped. */
  readonly nextRun: string | null;
}

/** The reconciliation lane of a remote: it runs beside the incremental passes. */
export type ReconciliationStatus = Pick<ScheduleStatus, 'state' | 'lastPass' | 'lastSuccess' | 'lastFailure' | 'consecutiveFailures' | 'nextRun'>;

/**
 * A remote: its incremental passes (the fields of ScheduleStatus) and its
 * reconciliations (`reconciliation`), which run beside them.
 */
export interface RemoteStatus extends ScheduleStatus {
  /** When every entity was last reconciled with this remote, ISO 8601; null before the first. */
  readonly lastReconcile: string | null;
  readonly reconciliation: ReconciliationStatus;
  /**
   * Per entity, where the next incremental pass reads from, ISO 8601 on the remote's
   * clock (receive times; producer times for records without one); null when the
   * remote held none; absent before the entity's first reconciliation.
   */
  readonly watermarks: Readonly<Partial<Record<EntityName, string | null>>>;
}

/**
 * A remote's status from its two lanes. `lagSeconds` is null until the first
 * reconciliation has completed (until then an incremental pass that succeeded does
 * not mean the remote's older records are here), then the smaller of the two lanes'.
 */
export function remoteStatus(
  incremental: ScheduleStatus,
  reconcile: ScheduleStatus,
  extra: { syncing: boolean; reconciled: boolean; lastReconcile: string | null; watermarks: RemoteStatus['watermarks'] },
): RemoteStatus {
  const lags = [incremental.lagSeconds, reconcile.lagSeconds].filter((lag) => lag !== null);
  const lane = (status: ScheduleStatus): RemoteState => (extra.syncing ? status.state : 'standby');
  const { state: _state, remote: _remote, lagSeconds: _lag, ...reconciliation } = reconcile;
  return {
    ...incremental,
    state: lane(incremental),
    lagSeconds: extra.reconciled && lags.length > 0 ? Math.min(...lags) : null,
    lastReconcile: extra.lastReconcile,
    watermarks: extra.watermarks,
    reconciliation: { ...reconciliation, state: lane(reconcile) },
  };
}

/** A remote in GET /status: what the service knows of it, and the entities in progress of its passes (of either lane). */
export interface RemoteStatusBody extends RemoteStatus {
  readonly progress: readonly EntityProgressStatus[];
}

/** A PuppetDB server the sidecar talks to, and its version. */
export interface ServerStatus {
  readonly url: string;
  readonly role: 'local' | 'remote';
  /** As /pdb/meta/v1/version gave it; 'unknown' when it gave none; null before it was asked. */
  readonly version: string | null;
}

/** What the HTTP API needs of the running service. */
export interface ServiceControl {
  /** Milliseconds since the epoch. */
  readonly startedAt: number;
  status(): readonly RemoteStatus[];
  /**
   * Starts a pass of `kind` (default incremental) now for every remote, or for the one
   * given; a remote already in a pass of that kind joins it instead of starting a
   * second. The remotes triggered, or undefined when `remote` is not a configured remote.
   */
  trigger(remote?: string, kind?: PassKind): readonly string[] | undefined;
  sidecar(): SidecarStatus;
  /** The local server and every remote, with their versions. */
  servers(): readonly ServerStatus[];
  /** The latest passes of every sidecar sharing the state database, newest first; empty without one. */
  recentPasses(limit: number): Promise<readonly StoredPass[]>;
}
