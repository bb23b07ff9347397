import type { Config } from '../config/types.ts';
import { catalogInputs } from '../entities/catalog-inputs.ts';
import { catalogs } from '../entities/catalogs.ts';
import { factExpiration } from '../entities/fact-expiration.ts';
import { factsets } from '../entities/factsets.ts';
import type { Entity } from '../entities/entity.ts';
import { nodes } from '../entities/nodes.ts';
import { reports } from '../entities/reports.ts';
import type { Logger } from '../log.ts';
import { PuppetDbClient } from '../puppetdb/client.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../puppetdb/retry.ts';
import { runPass, type PassResult } from './pass.ts';

/**
 * The entities in the order a pass syncs them. Node status comes last: a
 * deactivation is compared with the node's data, which must be here first, and
 * data newer than the deactivation wins over it (PuppetDB's own rule).
 */
export const ENTITIES: readonly Entity[] = [catalogs, catalogInputs, factsets, factExpiration, reports, nodes] as readonly Entity[];

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
  return new PuppetDbClient(url, {
    timeoutMs: config.sync.requestTimeoutMs,
    tls: config.tls,
    connections: config.sync.concurrency + 2,
    ...(extras.retry && { retry: extras.retry }),
    ...(extras.onRequestFailed && { onRequestFailed: extras.onRequestFailed }),
    onRetry: (error, attempt, delayMs) =>
      log.warn({ server: url, attempt, delayMs, error: (error as Error).message }, 'request failed, retrying'),
  });
}

/** The remotes that have had a pass since the process started. */
export class PassHistory {
  private readonly done = new Set<string>();

  isFirst(remote: string): boolean {
    return !this.done.has(remote);
  }

  record(remote: string): void {
    this.done.add(remote);
  }
}

/** One pass from every configured remote into the local server, one remote after another. */
export async function syncOnce(config: Config, log: Logger, history = new PassHistory()): Promise<PassResult[]> {
  const local = clientFor(config.local.serverUrl, config, log, { retry: LOCAL_RETRY_POLICY });
  const results: PassResult[] = [];
  try {
    for (const remoteConfig of config.sync.remotes) {
      const remote = clientFor(remoteConfig.serverUrl, config, log);
      try {
        const result = await runPass({ remote, local, log, settings: config.sync, entities: ENTITIES, firstPass: history.isFirst(remote.url) });
        // A pass that stopped before its entities ran (remote down) does not count as the first.
        if (result.entities.length === ENTITIES.length) history.record(remote.url);
        results.push(result);
      } finally {
        await remote.close();
      }
    }
  } finally {
    await local.close();
  }
  return results;
}
