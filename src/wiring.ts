/**
 * The wiring: which entities a pass syncs and in what order, how clients to PuppetDB
 * servers are made and retried, the node-purge policy every entity obeys, and which
 * remotes have had their first reconciliation. The engine (src/sync/) knows none of
 * these by name.
 */
import type { Config } from './config/types.ts';
import { catalogInputs } from './entities/catalog-inputs.ts';
import { catalogs } from './entities/catalogs.ts';
import type { Entity } from './entities/entity.ts';
import { factExpiration } from './entities/fact-expiration.ts';
import { factsets } from './entities/factsets.ts';
import { nodes } from './entities/nodes.ts';
import { remoteNodesGoneBefore } from './entities/purge.ts';
import { reports } from './entities/reports.ts';
import type { Logger } from './log.ts';
import { PuppetDbClient } from './puppetdb/client.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './puppetdb/retry.ts';
import type { ServerVersion } from './puppetdb/versions.ts';
import type { Exclusions } from './sync/pass.ts';
import type { PassResult } from './types.ts';

/**
 * The entities in the order a pass syncs them: what describes a node first, reports
 * last, so that a failover during a long catch-up finds what matters most. Node
 * status comes after the node's catalog and facts: a deactivation is compared with
 * the node's data, and data newer than the deactivation wins over it (PuppetDB's own
 * rule). Reports after it change nothing: a node the remote holds deactivated has no
 * report there newer than its deactivation (a newer one would have reactivated it),
 * and PuppetDB reactivates a node only for data newer than its deactivation.
 */
export const ENTITIES: readonly Entity[] = [catalogs, catalogInputs, factsets, factExpiration, nodes, reports] as readonly Entity[];

export const ENTITY_NAMES = ENTITIES.map((entity) => entity.name);

/** Nothing deactivated or expired on the remote longer ago than node-purge-ttl is pulled. */
export const NODE_PURGE_EXCLUSIONS: Exclusions = (remote, summary) => remoteNodesGoneBefore(remote, summary.now - summary.settings.nodePurgeTtlMs);

/** How long a stop (SIGTERM, SIGINT) waits for the records in flight before giving up on them. */
export const STOP_GRACE_MS = 30_000;

export interface ClientExtras {
  readonly retry?: RetryPolicy;
  /** Told of every failed request that is retried (the failed-request metric). */
  readonly onRequestFailed?: () => void;
}

/**
 * A local PuppetDB that is starting or in maintenance answers 503: the sync waits it
 * out (until the entity time limit) instead of failing every record.
 */
export const LOCAL_RETRY_POLICY: RetryPolicy = Object.freeze({ ...DEFAULT_RETRY_POLICY, waitOutCodes: ['PDBSYNC_ERR_HTTP_UNAVAILABLE'] as const });

export function clientFor(url: string, config: Config, log: Logger, extras: ClientExtras = {}): PuppetDbClient {
  const local = url === config.local.serverUrl;
  return new PuppetDbClient(url, {
    onVersion: (learned) => logVersion(url, local, learned, log),
    timeoutMs: config.sync.requestTimeoutMs,
    reportSettleMs: config.sync.reportSettleMs,
    tls: config.tls,
    connections: config.sync.concurrency + 2,
    ...(extras.retry && { retry: extras.retry }),
    ...(extras.onRequestFailed && { onRequestFailed: extras.onRequestFailed }),
    onRetry: (error, attempt, delayMs) => log.warn({ phase: 'request', event: 'retry', remote: url, attempt, delayMs, err: error }, 'request failed, retrying'),
  });
}

/** The version of each server as the client learns it; a warning where the local server has a bug the sidecar works around. */
function logVersion(url: string, local: boolean, learned: ServerVersion, log: Logger): void {
  const version = learned.version ?? 'unknown';
  const where = local ? { local: url } : { remote: url };
  log.info({ ...where, version }, `PuppetDB ${version} at ${url}`);
  if (local && learned.traits.duplicateReportRace) {
    log.warn(
      { ...where, version },
      `the local PuppetDB (${version}) can keep two latest reports of a node when two identical reports are processed at once, after which the node's reports fail; the sidecar never submits a report another submission of it may race (docs/versions.md)`,
    );
  }
}

/** The remotes that have had a complete reconciliation since the process started (initial-report-threshold). */
export class PassHistory {
  private readonly done = new Set<string>();

  isFirst(remote: string): boolean {
    return !this.done.has(remote);
  }

  /** A pass that stopped before its entities ran (remote down) does not count. */
  record(result: PassResult): void {
    if (result.kind === 'reconcile' && result.entities.length === ENTITIES.length) this.done.add(result.remote);
  }
}
