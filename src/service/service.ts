import type { Config } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { PuppetDbClient } from '../puppetdb/client.ts';
import { Leadership } from '../state/leadership.ts';
import type { PgSyncState, StoredPass } from '../state/store.ts';
import { TieMemo } from '../sync/content-tie.ts';
import { runPass } from '../sync/pass.ts';
import { lastReconciliation, MemorySyncState, type SyncStateStore } from '../sync/sync-state.ts';
import type { EntityName, PassKind, PassObserver, PassResult, ProgressObserver } from '../types.ts';
import { clientFor, ENTITIES, ENTITY_NAMES, LOCAL_RETRY_POLICY, NODE_PURGE_EXCLUSIONS, PassHistory } from '../wiring.ts';
import { localProbe, type LocalProbe, type LocalStatusObserver } from './metrics-local.ts';
import { LocalQueueGate } from '../sync/backpressure.ts';
import { nextDelayMs, RemoteScheduler, type RemoteSchedulerOptions } from './scheduler.ts';
import { remoteStatus } from './status.ts';
import type { SyncError } from '../errors.ts';
import type { RemoteStatus, ServerStatus, ServiceControl, SidecarStatus } from './status.ts';

export interface ServiceObserver extends PassObserver, LocalStatusObserver {
  requestFailed(server: string): void;
  /** After each pass: where each entity's watermark stands and when the remote was last reconciled (ms; null: none). */
  syncState(remote: string, watermarks: ReadonlyMap<EntityName, number | null>, reconciledAt: number | null): void;
  /** Follows each entity of every pass while it runs (src/progress/); handed to the passes. */
  readonly progress?: ProgressObserver | undefined;
}

/**
 * A remote's two lanes, started while this sidecar syncs and replaced by new ones,
 * not started, when it stands by. Incremental passes keep their beat while a
 * reconciliation, which can run for hours at fleet scale, runs beside them.
 */
interface Remote {
  /** Incremental passes, one per interval: what the remote received since the last. */
  incremental: RemoteScheduler;
  /** Started once every entity has a state to go on from (the first reconciliation's marks). */
  incrementalStarted: boolean;
  /** Reconciliations: at start, or when due, and then every sync.reconcile-interval. */
  reconcile: RemoteScheduler;
  readonly client: PuppetDbClient;
  intervalMs: number;
}

/**
 * `run`: every remote on its own schedule, against one local server, until stopped.
 * The configuration can be replaced while it runs (SIGHUP): remotes added start,
 * removed ones finish their pass and stop, settings apply from the next pass.
 *
 * With a state database (`stored`), the state is read from it at start and written
 * after each pass; with leader election, the passes run only while this sidecar
 * leads, from the state as the database has it when it takes the lead.
 */
export class SyncService implements ServiceControl {
  readonly startedAt = Date.now();
  private config: Config;
  private readonly log: Logger;
  private readonly observer: ServiceObserver | undefined;
  private readonly history = new PassHistory();
  private readonly state: SyncStateStore;
  /** Kept while the process runs, for every remote: a reconciliation does not read again the ties the last one decided. */
  private readonly tieMemo = new TieMemo();
  private readonly stored: PgSyncState | undefined;
  private readonly leadership: Leadership | undefined;
  private readonly remotes = new Map<string, Remote>();
  private readonly stopping = new AbortController();
  /** Aborted when this sidecar stops leading: its passes stop at once. */
  private term = new AbortController();
  private syncing = false;
  /** Resolves once the passes of the last lead have ended. */
  private standingBy: Promise<void> = Promise.resolve();
  private readonly local: PuppetDbClient;
  /** The local command queue's budget, shared by every pass of every remote. */
  private readonly gate: LocalQueueGate;
  /** Reads the local server's status for the observer, leading or not. */
  private readonly probe: LocalProbe | undefined;

  constructor(config: Config, log: Logger, observer?: ServiceObserver, stored?: PgSyncState) {
    this.config = config;
    this.log = log;
    this.observer = observer;
    this.stored = stored;
    this.state = stored ?? new MemorySyncState();
    this.leadership =
      stored && config.state?.leaderElection ? new Leadership(config.state, log, { elected: () => this.lead(), deposed: (reason) => this.standBy(reason) }) : undefined;
    this.local = clientFor(config.local.serverUrl, config, log, {
      retry: LOCAL_RETRY_POLICY,
      onRequestFailed: () => observer?.requestFailed(config.local.serverUrl),
    });
    this.gate = new LocalQueueGate(this.local, () => this.config.sync.queueLimit, log);
    this.probe = observer && localProbe(config, observer);
  }

  /** Starts syncing, or, with leader election, standing by for the lead. */
  async start(): Promise<void> {
    for (const remote of this.config.sync.remotes) this.addRemote(remote.serverUrl, remote.intervalMs);
    // Learned now to be logged and shown; a server down now is asked again when a query needs its version.
    void this.local.version().catch(() => undefined);
    this.probe?.start();
    if (this.leadership) this.leadership.start();
    else await this.lead();
  }

  status(): readonly RemoteStatus[] {
    return [...this.remotes.entries()].map(([url, remote]) => {
      const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
      const watermarks = Object.fromEntries([...this.watermarks(url)].map(([entity, ms]) => [entity, iso(ms)]));
      const reconciledAt = lastReconciliation(this.state, url, ENTITY_NAMES);
      return remoteStatus(remote.incremental.status(), remote.reconcile.status(), { syncing: this.syncing, lastReconcile: iso(reconciledAt), reconciled: reconciledAt !== undefined, watermarks });
    });
  }

  servers(): readonly ServerStatus[] {
    const server = (client: PuppetDbClient, role: ServerStatus['role']): ServerStatus => {
      const known = client.knownVersion;
      return { url: client.url, role, version: known === undefined ? null : (known.version ?? 'unknown') };
    };
    return [server(this.local, 'local'), ...[...this.remotes.values()].map((remote) => server(remote.client, 'remote'))];
  }

  /** A standby writes nothing: for it, the database is available while the election's session reaches it. */
  sidecar(): SidecarStatus {
    const election = this.leadership?.status();
    const stored = this.stored?.status();
    const reachable = election?.databaseReachable ?? false;
    const standby = stored && election?.role === 'standby' ? { database: stored.database, available: reachable, error: reachable ? null : 'the leader election cannot reach it' } : undefined;
    return { role: election?.role ?? 'single', leaderPresent: election?.leaderPresent ?? null, stateDatabase: standby ?? stored ?? null };
  }

  recentPasses(limit: number): Promise<readonly StoredPass[]> {
    return this.stored?.recentPasses(limit) ?? Promise.resolve([]);
  }

  /** A standby triggers nothing: the leader syncs. An incremental pass waits for the first reconciliation's marks. */
  trigger(remote?: string, kind: PassKind = 'incremental'): readonly string[] | undefined {
    const targets = remote === undefined ? [...this.remotes.keys()] : this.remotes.has(remote) ? [remote] : undefined;
    if (!this.syncing) return targets && [];
    for (const url of targets ?? []) {
      const lanes = this.remotes.get(url)!;
      if (kind === 'reconcile') void lanes.reconcile.trigger();
      else if (lanes.incrementalStarted) void lanes.incremental.trigger();
    }
    return targets;
  }

  /** Takes up the passes, from the state as the database has it (another sidecar may have led). */
  private async lead(): Promise<void> {
    // Passes of an earlier lead end first: a sidecar never runs two passes against a remote at once.
    await this.standingBy;
    await this.stored?.load([...this.remotes.keys()]);
    this.term = new AbortController();
    this.syncing = true;
    for (const [url, remote] of this.remotes) this.startLanes(url, remote);
  }

  /** Lost the lead: the passes stop at once, no record starts, and the schedules wait for the next lead. */
  private standBy(reason: SyncError): void {
    this.syncing = false;
    this.term.abort(reason);
    const stopped: Promise<void>[] = [];
    for (const [url, remote] of this.remotes) {
      stopped.push(remote.incremental.stop(), remote.reconcile.stop());
      Object.assign(remote, this.lanes(url, remote));
    }
    this.standingBy = Promise.all(stopped).then(() => undefined);
  }

  /**
   * Applies a new configuration; the local server needs a restart (run.ts sees to
   * `http`). TLS files that changed (a new CRL) apply to every request from now on.
   */
  reload(next: Config): void {
    const restartOnly = (['local', 'state'] as const).filter((key) => JSON.stringify(next[key]) !== JSON.stringify(this.config[key]));
    if (restartOnly.length > 0) this.log.warn({ keys: restartOnly }, 'configuration reload: these settings change only on restart');
    const tlsChanged = JSON.stringify(next.tls) !== JSON.stringify(this.config.tls);
    this.config = { ...next, local: this.config.local, state: this.config.state };
    if (tlsChanged) {
      for (const client of this.clients()) client.useTls(next.tls);
      this.probe?.client.useTls(next.tls);
      this.log.info({ crl: next.tls?.crlFile ?? null }, 'configuration reload: new TLS files in use');
    }
    const wanted = new Map(next.sync.remotes.map((remote) => [remote.serverUrl, remote.intervalMs]));
    for (const [url, remote] of this.remotes) {
      if (!wanted.has(url)) void this.removeRemote(url, remote);
    }
    for (const [url, intervalMs] of wanted) {
      const existing = this.remotes.get(url);
      if (existing) existing.intervalMs = intervalMs;
      else this.addRemote(url, intervalMs);
    }
    this.log.info({ remotes: [...wanted.keys()] }, 'configuration reloaded');
  }

  /** Stops scheduling, lets records in flight finish for at most `graceMs`, then gives up their requests and closes connections. */
  async stop(graceMs: number): Promise<void> {
    this.stopping.abort();
    this.syncing = false;
    const stopped = Promise.all([...this.remotes.values()].flatMap((remote) => [remote.incremental.stop(), remote.reconcile.stop()]));
    const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, graceMs, 'timeout').unref());
    const clients = this.clients();
    if ((await Promise.race([stopped, timer])) === 'timeout') {
      this.log.warn({ graceMs }, 'stopping without waiting longer for passes in flight');
      for (const client of clients) client.giveUp();
    }
    await Promise.allSettled([...clients.map((client) => client.close()), this.probe?.stop()]);
    await this.leadership?.stop();
    await this.stored?.flush();
    await this.stored?.close();
  }

  private clients(): PuppetDbClient[] {
    return [this.local, ...[...this.remotes.values()].map((remote) => remote.client)];
  }

  /** A remote, its lanes started if this sidecar syncs. */
  private addRemote(url: string, intervalMs: number): void {
    const client = clientFor(url, this.config, this.log, { onRequestFailed: () => this.observer?.requestFailed(url) });
    void client.version().catch(() => undefined);
    const remote = { client, intervalMs } as Remote;
    Object.assign(remote, this.lanes(url, remote));
    this.remotes.set(url, remote);
    if (this.syncing) this.startLanes(url, remote);
  }

  /** New lanes for a remote, not started. */
  private lanes(url: string, remote: Remote): Pick<Remote, 'incremental' | 'reconcile' | 'incrementalStarted'> {
    const settings = (intervalMs: number) => ({ intervalMs, jitterPercent: this.config.sync.jitterPercent, backoffMaxMs: this.config.sync.backoffMaxMs });
    const lane = (kind: PassKind, extra: Partial<RemoteSchedulerOptions> = {}) =>
      new RemoteScheduler({
        remote: url,
        settings: () => settings(remote.intervalMs),
        runPass: () => this.pass(url, remote.client, kind, () => this.startIncremental(url, remote)),
        onPassError: (error) => this.log.error({ remote: url, kind, err: error }, 'pass failed unexpectedly'),
        ...extra,
      });
    return {
      incremental: lane('incremental'),
      incrementalStarted: false,
      // After a failed reconciliation, the remote's backoff; after one that succeeded, until the next is due.
      reconcile: lane('reconcile', { waitAfterSuccess: () => nextDelayMs(settings(this.reconcileDueInMs(url)), 0) }),
    };
  }

  private startLanes(url: string, remote: Remote): void {
    remote.reconcile.start(this.reconcileDueInMs(url));
    if (ENTITY_NAMES.every((entity) => this.state.get(url, entity) !== undefined)) this.startIncremental(url, remote);
  }

  /** Once every entity of the remote has a state to go on from: at once with a stored state, else once the reconciliation has read its marks. */
  private startIncremental(url: string, remote: Remote): void {
    if (remote.incrementalStarted || !this.syncing || this.remotes.get(url) !== remote) return;
    remote.incrementalStarted = true;
    remote.incremental.start();
  }

  /** How long until the remote's next reconciliation is due: now when it has none, or the last is older than sync.reconcile-interval. */
  private reconcileDueInMs(url: string): number {
    const reconciledAt = lastReconciliation(this.state, url, ENTITY_NAMES);
    return reconciledAt === undefined ? 0 : Math.max(0, reconciledAt + this.config.sync.reconcileIntervalMs - Date.now());
  }

  private async removeRemote(url: string, remote: Remote): Promise<void> {
    this.remotes.delete(url);
    await Promise.all([remote.incremental.stop(), remote.reconcile.stop()]);
    await remote.client.close();
  }

  private watermarks(url: string): Map<EntityName, number | null> {
    return new Map(ENTITY_NAMES.flatMap((entity) => {
      const state = this.state.get(url, entity);
      return state ? [[entity, state.mark] as const] : [];
    }));
  }

  private async pass(url: string, remote: PuppetDbClient, kind: PassKind, onMarks: () => void): Promise<PassResult> {
    const start = new Date().toISOString();
    const result = await runPass({
      remote,
      local: this.local,
      log: this.log,
      settings: this.config.sync,
      entities: ENTITIES,
      kind,
      gate: this.gate,
      onMarks,
      state: this.state,
      tieMemo: this.tieMemo,
      exclusions: NODE_PURGE_EXCLUSIONS,
      // A reconciliation stored by an earlier process, or another sidecar, counts.
      firstPass: this.history.isFirst(url) && lastReconciliation(this.state, url, ENTITY_NAMES) === undefined,
      spread: true,
      signal: AbortSignal.any([this.stopping.signal, this.term.signal]),
      ...(this.observer && { observer: this.observer }),
      ...(this.observer?.progress && { progress: this.observer.progress }),
    });
    this.history.record(result);
    this.observer?.syncState(url, this.watermarks(url), lastReconciliation(this.state, url, ENTITY_NAMES) ?? null);
    await this.stored?.flush();
    await this.stored?.recordPass({ remote: url, kind: result.kind, start, end: new Date().toISOString(), ok: result.ok, entities: result.entities, error: result.error ?? null });
    return result;
  }
}
