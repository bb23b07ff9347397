import type { Config } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { PuppetDbClient } from '../puppetdb/client.ts';
import { runPass } from '../sync/pass.ts';
import { lastReconciliation, MemorySyncState, type SyncStateStore } from '../sync/sync-state.ts';
import type { EntityName, PassKind, PassObserver, PassResult } from '../types.ts';
import { clientFor, ENTITIES, ENTITY_NAMES, LOCAL_RETRY_POLICY, NODE_PURGE_EXCLUSIONS, PassHistory } from '../wiring.ts';
import { RemoteScheduler } from './scheduler.ts';
import type { RemoteStatus, ServiceControl } from './status.ts';

export interface ServiceObserver extends PassObserver {
  requestFailed(server: string): void;
  /** After each pass: where each entity's watermark stands and when the remote was last reconciled (ms; null: none). */
  syncState(remote: string, watermarks: ReadonlyMap<EntityName, number | null>, reconciledAt: number | null): void;
}

interface Remote {
  readonly scheduler: RemoteScheduler;
  readonly client: PuppetDbClient;
  intervalMs: number;
}

/**
 * `run`: every remote on its own schedule, against one local server, until stopped.
 * The configuration can be replaced while it runs (SIGHUP): remotes added start,
 * removed ones finish their pass and stop, settings apply from the next pass.
 */
export class SyncService implements ServiceControl {
  readonly startedAt = Date.now();
  private config: Config;
  private readonly log: Logger;
  private readonly observer: ServiceObserver | undefined;
  private readonly history = new PassHistory();
  private readonly state: SyncStateStore = new MemorySyncState();
  private readonly remotes = new Map<string, Remote>();
  private readonly stopping = new AbortController();
  private readonly local: PuppetDbClient;

  constructor(config: Config, log: Logger, observer?: ServiceObserver) {
    this.config = config;
    this.log = log;
    this.observer = observer;
    this.local = clientFor(config.local.serverUrl, config, log, {
      retry: LOCAL_RETRY_POLICY,
      onRequestFailed: () => observer?.requestFailed(config.local.serverUrl),
    });
  }

  start(): void {
    for (const remote of this.config.sync.remotes) this.addRemote(remote.serverUrl, remote.intervalMs);
  }

  status(): readonly RemoteStatus[] {
    return [...this.remotes.entries()].map(([url, remote]) => {
      const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
      const watermarks = Object.fromEntries([...this.watermarks(url)].map(([entity, ms]) => [entity, iso(ms)]));
      return { ...remote.scheduler.status(), lastReconcile: iso(lastReconciliation(this.state, url, ENTITY_NAMES)), watermarks };
    });
  }

  trigger(remote?: string): readonly string[] | undefined {
    const targets = remote === undefined ? [...this.remotes.keys()] : this.remotes.has(remote) ? [remote] : undefined;
    for (const url of targets ?? []) void this.remotes.get(url)!.scheduler.trigger();
    return targets;
  }

  /**
   * Applies a new configuration; the local server needs a restart (run.ts sees to
   * `http`). TLS files that changed (a new CRL) apply to every request from now on.
   */
  reload(next: Config): void {
    if (JSON.stringify(next.local) !== JSON.stringify(this.config.local)) {
      this.log.warn({ keys: ['local'] }, 'configuration reload: these settings change only on restart');
    }
    const tlsChanged = JSON.stringify(next.tls) !== JSON.stringify(this.config.tls);
    this.config = { ...next, local: this.config.local };
    if (tlsChanged) {
      for (const client of this.clients()) client.useTls(next.tls);
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
    const stopped = Promise.all([...this.remotes.values()].map((remote) => remote.scheduler.stop()));
    const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, graceMs, 'timeout').unref());
    const clients = this.clients();
    if ((await Promise.race([stopped, timer])) === 'timeout') {
      this.log.warn({ graceMs }, 'stopping without waiting longer for passes in flight');
      for (const client of clients) client.giveUp();
    }
    await Promise.allSettled(clients.map((client) => client.close()));
  }

  private clients(): PuppetDbClient[] {
    return [this.local, ...[...this.remotes.values()].map((remote) => remote.client)];
  }

  private addRemote(url: string, intervalMs: number): void {
    const client = clientFor(url, this.config, this.log, { onRequestFailed: () => this.observer?.requestFailed(url) });
    const remote: Remote = {
      client,
      intervalMs,
      scheduler: new RemoteScheduler({
        remote: url,
        settings: () => ({ intervalMs: remote.intervalMs, jitterPercent: this.config.sync.jitterPercent, backoffMaxMs: this.config.sync.backoffMaxMs }),
        runPass: () => this.pass(url, client),
        onPassError: (error) => this.log.error({ remote: url, err: error }, 'pass failed unexpectedly'),
      }),
    };
    this.remotes.set(url, remote);
    remote.scheduler.start();
  }

  private async removeRemote(url: string, remote: Remote): Promise<void> {
    this.remotes.delete(url);
    await remote.scheduler.stop();
    await remote.client.close();
  }

  /**
   * A reconciliation when the remote has none yet or its last is older than
   * sync.reconcile-interval; an incremental pass otherwise.
   */
  private nextKind(url: string): PassKind {
    const reconciledAt = lastReconciliation(this.state, url, ENTITY_NAMES);
    return reconciledAt === undefined || Date.now() - reconciledAt >= this.config.sync.reconcileIntervalMs ? 'reconcile' : 'incremental';
  }

  private watermarks(url: string): Map<EntityName, number | null> {
    return new Map(ENTITY_NAMES.flatMap((entity) => {
      const state = this.state.get(url, entity);
      return state ? [[entity, state.mark] as const] : [];
    }));
  }

  private async pass(url: string, remote: PuppetDbClient): Promise<PassResult> {
    const result = await runPass({
      remote,
      local: this.local,
      log: this.log,
      settings: this.config.sync,
      entities: ENTITIES,
      kind: this.nextKind(url),
      state: this.state,
      exclusions: NODE_PURGE_EXCLUSIONS,
      firstPass: this.history.isFirst(url),
      spread: true,
      signal: this.stopping.signal,
      ...(this.observer && { observer: this.observer }),
    });
    this.history.record(result);
    this.observer?.syncState(url, this.watermarks(url), lastReconciliation(this.state, url, ENTITY_NAMES) ?? null);
    return result;
  }
}
