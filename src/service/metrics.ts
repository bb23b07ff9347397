import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerElapsedGauges, type RemoteHistory } from './metrics-elapsed.ts';
import { registerLocalGauges, type LocalReading, type LocalStatusObserver } from './metrics-local.ts';
import { registerBuildInfo, registerProcessMetrics } from './metrics-process.ts';
import { registerProgressGauges } from './metrics-progress.ts';
import { registerSidecarGauges } from './metrics-sidecar.ts';
import type { ServerStatus, SidecarStatus } from './status.ts';
import type { EntityName, EntityResult, PassObserver, PassResult } from '../types.ts';
import type { ProgressTracker } from '../progress/tracker.ts';

/**
 * Puppet Enterprise's HA sync metrics (namespace puppetlabs.puppetdb.ha) under
 * Prometheus names, per remote, and per entity where PE has a timer per entity.
 * Every metric is defined here or in the metrics-*.ts beside it, once, on a registry
 * of its own (never prom-client's global one); the process metrics keep their
 * standard unprefixed names. docs/operations.md#metrics lists them with the PE name
 * each corresponds to; monitoring/ holds alert rules and a dashboard on them.
 */

export interface SyncMetricsOptions {
  /** Milliseconds since the epoch; the time a pass ends at, and "now" at scrape time. */
  readonly now?: () => number;
  /** Remotes known before their first pass: their gauges and counters start at 0 instead of being absent. */
  readonly remotes?: readonly string[];
  /** Process metrics (CPU, memory, event loop, GC); on unless false. */
  readonly processMetrics?: boolean;
  /** The entities in progress: their long-running ones are in the progress gauges, and passes are told to feed it. */
  readonly progress?: ProgressTracker;
}

const PREFIX = 'pdbsync_';

/** One record: a request or two to each server, a small report in milliseconds, a large catalog in minutes. */
const RECORD_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** One entity of a pass: from a summary with nothing to pull to a first pull of every catalog. */
const ENTITY_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];
/** One pass, every entity: seconds when in step, up to an hour for a first pull. */
const PASS_BUCKETS = [1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

export class SyncMetrics implements PassObserver, LocalStatusObserver {
  readonly registry: Registry;
  readonly contentType: string;
  /** What the passes feed with each entity's progress (ServiceObserver). */
  readonly progress: ProgressTracker | undefined;

  private readonly now: () => number;
  private readonly history = new Map<string, RemoteHistory>();

  private readonly lastSyncSucceeded: Gauge<'remote'>;
  private readonly syncHasWorkedOnce: Gauge<'remote'>;
  private readonly syncHasFailedAfterWorking: Gauge<'remote'>;
  /** PE's names and the `_timestamp_seconds` of the other times: the same values. */
  private readonly lastSuccessfulSyncTimes: readonly Gauge<'remote'>[];
  private readonly lastFailedSyncTimes: readonly Gauge<'remote'>[];
  private readonly failedRequests: Counter<'remote'>;
  private readonly syncDuration: Histogram<'remote'>;
  private readonly entitySyncDuration: Histogram<'remote' | 'entity'>;
  private readonly recordTransferDuration: Histogram<'remote' | 'entity'>;
  private readonly recordsTransferred: Counter<'remote' | 'entity'>;
  private readonly recordsFailed: Counter<'remote' | 'entity'>;
  private readonly rowsRead: Counter<'remote' | 'entity' | 'side' | 'kind'>;
  private readonly rowsSkipped: Counter<'remote' | 'entity'>;
  private readonly watermark: Gauge<'remote' | 'entity'>;
  private readonly lastReconcileTime: Gauge<'remote'>;
  private readonly setLocalGauges: (reading: LocalReading) => void;

  constructor(options: SyncMetricsOptions = {}) {
    this.now = options.now ?? Date.now;
    const registry = new Registry();
    this.registry = registry;
    this.contentType = registry.contentType;
    const registers = [registry];
    if (options.processMetrics !== false) registerProcessMetrics(registry);
    registerBuildInfo(registry, PREFIX);
    this.setLocalGauges = registerLocalGauges(registry, PREFIX);
    registerElapsedGauges(registry, PREFIX, this.history, this.now);
    this.progress = options.progress;
    registerProgressGauges(registry, PREFIX, () => this.progress?.longRunning() ?? []);

    this.lastSyncSucceeded = new Gauge({
      name: `${PREFIX}last_sync_succeeded`,
      help: 'Whether the last pass against the remote succeeded: every entity ran to its end with no failed record and no skipped row (1) or not (0). PE: last-sync-succeeded.',
      labelNames: ['remote'],
      registers,
    });
    this.syncHasWorkedOnce = new Gauge({
      name: `${PREFIX}sync_has_worked_once`,
      help: 'Whether a pass against the remote has succeeded since the process started (1) or not (0). PE: sync-has-worked-once.',
      labelNames: ['remote'],
      registers,
    });
    this.syncHasFailedAfterWorking = new Gauge({
      name: `${PREFIX}sync_has_failed_after_working`,
      help: 'Whether the sync with the remote has stopped working after working before: the last pass failed and an earlier one succeeded (1), or not (0). PE: sync-has-failed-after-working.',
      labelNames: ['remote'],
      registers,
    });
    const timeGauges = (name: string, what: string, pe: string) =>
      [`${name}_time_seconds`, `${name}_timestamp_seconds`].map(
        (full, index) =>
          new Gauge({
            name: `${PREFIX}${full}`,
            help: `When the last ${what} pass against the remote ended, in seconds since the Unix epoch; absent before one. ${index === 0 ? `PE: ${pe}.` : `The same as ${PREFIX}${name}_time_seconds (PE's name), named as the other times are.`}`,
            labelNames: ['remote'],
            registers,
          }),
      );
    this.lastSuccessfulSyncTimes = timeGauges('last_successful_sync', 'successful', 'last-successful-sync-time');
    this.lastFailedSyncTimes = timeGauges('last_failed_sync', 'failed', 'last-failed-sync-time');
    this.failedRequests = new Counter({
      name: `${PREFIX}failed_requests_total`,
      help: 'HTTP requests to a PuppetDB server that failed, each attempt of a retried request counted; labelled by the server URL (the local server too). PE: failed-request-counter.',
      labelNames: ['remote'],
      registers,
    });
    this.syncDuration = new Histogram({
      name: `${PREFIX}sync_duration_seconds`,
      help: 'Duration of a pass against the remote, every entity, succeeded or failed. PE: sync-duration.',
      labelNames: ['remote'],
      buckets: PASS_BUCKETS,
      registers,
    });
    this.entitySyncDuration = new Histogram({
      name: `${PREFIX}entity_sync_duration_seconds`,
      help: 'Duration of one entity of a pass against the remote. PE: catalogs-sync-duration, reports-sync-duration, factsets-sync-duration, nodes-sync-duration.',
      labelNames: ['remote', 'entity'],
      buckets: ENTITY_BUCKETS,
      registers,
    });
    this.recordTransferDuration = new Histogram({
      name: `${PREFIX}record_transfer_duration_seconds`,
      help: 'Duration of the transfer of one record (fetch from the remote, convert, submit locally), transferred or failed. PE: record-transfer-duration.',
      labelNames: ['remote', 'entity'],
      buckets: RECORD_BUCKETS,
      registers,
    });
    this.recordsTransferred = new Counter({
      name: `${PREFIX}records_transferred_total`,
      help: 'Records pulled from the remote and applied by the local PuppetDB.',
      labelNames: ['remote', 'entity'],
      registers,
    });
    this.recordsFailed = new Counter({
      name: `${PREFIX}records_failed_total`,
      help: 'Records of the remote that could not be transferred (pulled again on the next pass).',
      labelNames: ['remote', 'entity'],
      registers,
    });

    this.rowsRead = new Counter({
      name: `${PREFIX}rows_read_total`,
      help: 'Summary rows read to compare the servers, from the remote or the local server (side), in reconciliations or incremental passes (kind): what a pass costs.',
      labelNames: ['remote', 'entity', 'side', 'kind'],
      registers,
    });
    this.rowsSkipped = new Counter({
      name: `${PREFIX}rows_skipped_total`,
      help: 'Summary rows, remote or local, that could not be read: logged, and their keys left alone until a pass reads them.',
      labelNames: ['remote', 'entity'],
      registers,
    });
    this.watermark = new Gauge({
      name: `${PREFIX}watermark_timestamp_seconds`,
      help: 'Where the next incremental pass of the entity reads the remote from: its newest receive time seen (its producer time for records without one), on the remote\'s clock.',
      labelNames: ['remote', 'entity'],
      registers,
    });
    this.lastReconcileTime = new Gauge({
      name: `${PREFIX}last_reconcile_timestamp_seconds`,
      help: 'When the remote was last reconciled (every entity compared in full), Unix time.',
      labelNames: ['remote'],
      registers,
    });

    for (const remote of options.remotes ?? []) this.remote(remote);
  }

  recordFinished(remote: string, entity: EntityName, durationMs: number, ok: boolean): void {
    this.recordTransferDuration.observe({ remote, entity }, durationMs / 1000);
    (ok ? this.recordsTransferred : this.recordsFailed).inc({ remote, entity });
  }

  entityFinished(remote: string, result: EntityResult, durationMs: number): void {
    this.entitySyncDuration.observe({ remote, entity: result.entity }, durationMs / 1000);
    this.rowsRead.inc({ remote, entity: result.entity, side: 'remote', kind: result.kind }, result.remoteRows);
    this.rowsRead.inc({ remote, entity: result.entity, side: 'local', kind: result.kind }, result.localRows);
    this.rowsSkipped.inc({ remote, entity: result.entity }, result.skipped);
  }

  syncState(remote: string, watermarks: ReadonlyMap<EntityName, number | null>, reconciledAt: number | null): void {
    for (const [entity, mark] of watermarks) if (mark !== null) this.watermark.set({ remote, entity }, mark / 1000);
    if (reconciledAt === null) return;
    this.remote(remote).reconciledAt = reconciledAt;
    this.lastReconcileTime.set({ remote }, reconciledAt / 1000);
  }

  passFinished(remote: string, result: PassResult, durationMs: number): void {
    const at = this.now();
    const h = this.remote(remote);
    if (result.ok) {
      h.lastSucceeded = true;
      h.workedOnce = true;
      h.failedAfterWorking = false;
      h.lastSuccessAt = at;
      // Incremental passes and a reconciliation run side by side: the later start counts.
      h.lastSuccessStartedAt = Math.max(h.lastSuccessStartedAt ?? -Infinity, at - durationMs);
      for (const gauge of this.lastSuccessfulSyncTimes) gauge.set({ remote }, at / 1000);
    } else {
      h.lastSucceeded = false;
      h.failedAfterWorking = h.workedOnce;
      h.lastFailureAt = at;
      for (const gauge of this.lastFailedSyncTimes) gauge.set({ remote }, at / 1000);
    }
    this.lastSyncSucceeded.set({ remote }, h.lastSucceeded ? 1 : 0);
    this.syncHasWorkedOnce.set({ remote }, h.workedOnce ? 1 : 0);
    this.syncHasFailedAfterWorking.set({ remote }, h.failedAfterWorking ? 1 : 0);
    this.syncDuration.observe({ remote }, durationMs / 1000);
  }

  /** A request to `server` (a remote or the local server) failed; for the PuppetDB client. */
  requestFailed(server: string): void {
    this.failedRequests.inc({ remote: server });
  }

  /** What the last probe of the local server found. */
  localStatus(reading: LocalReading): void {
    this.setLocalGauges(reading);
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** The history of a remote, created with its series at 0 on first sight. */
  private remote(remote: string): RemoteHistory {
    let h = this.history.get(remote);
    if (h === undefined) {
      h = {
        lastSucceeded: false,
        workedOnce: false,
        failedAfterWorking: false,
        lastSuccessAt: undefined,
        lastFailureAt: undefined,
        lastSuccessStartedAt: undefined,
        reconciledAt: undefined,
      };
      this.history.set(remote, h);
      this.lastSyncSucceeded.set({ remote }, 0);
      this.syncHasWorkedOnce.set({ remote }, 0);
      this.syncHasFailedAfterWorking.set({ remote }, 0);
      this.failedRequests.inc({ remote }, 0);
    }
    return h;
  }

  /** The sidecar's role and state database, and the servers' versions, read at each scrape. */
  watchSidecar(sidecar: () => SidecarStatus, servers: () => readonly ServerStatus[]): void {
    registerSidecarGauges(this.registry, PREFIX, sidecar, servers);
  }
}
