import type { Config } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { PuppetDbClient } from '../puppetdb/client.ts';
import type { PassResult, ProgressObserver } from '../types.ts';
import { clientFor, ENTITIES, LOCAL_RETRY_POLICY, NODE_PURGE_EXCLUSIONS, PassHistory, STOP_GRACE_MS } from '../wiring.ts';
import { TieMemo } from './content-tie.ts';
import { runPass } from './pass.ts';
import { MemorySyncState } from './sync-state.ts';

export interface OnceOptions {
  /** Which remotes have had their first reconciliation (initial-report-threshold); a new history by default. */
  readonly history?: PassHistory;
  /**
   * Aborted to stop (SIGTERM, SIGINT): no new record or remote starts, the records in
   * flight finish, for at most `graceMs` (STOP_GRACE_MS by default), after which
   * their requests are given up.
   */
  readonly signal?: AbortSignal;
  readonly graceMs?: number;
  /** Follows each entity while it runs. */
  readonly progress?: ProgressObserver;
}

/** `once`: one exact reconciliation from every configured remote into the local server, one remote after another. */
export async function syncOnce(config: Config, log: Logger, options: OnceOptions = {}): Promise<PassResult[]> {
  const { signal, history = new PassHistory(), graceMs = STOP_GRACE_MS, progress } = options;
  const local = clientFor(config.local.serverUrl, config, log, { retry: LOCAL_RETRY_POLICY });
  const state = new MemorySyncState();
  const tieMemo = new TieMemo();
  const open = new Set<PuppetDbClient>([local]);
  let grace: NodeJS.Timeout | undefined;
  const stop = () => {
    grace = setTimeout(() => {
      log.warn({ graceMs }, 'stopping without waiting longer for records in flight');
      for (const client of open) client.giveUp();
    }, graceMs);
  };
  signal?.addEventListener('abort', stop, { once: true });
  const results: PassResult[] = [];
  try {
    for (const remoteConfig of config.sync.remotes) {
      if (signal?.aborted) break;
      const remote = clientFor(remoteConfig.serverUrl, config, log);
      open.add(remote);
      try {
        const result = await runPass({
          remote,
          local,
          log,
          settings: config.sync,
          entities: ENTITIES,
          kind: 'reconcile',
          state,
          tieMemo,
          exclusions: NODE_PURGE_EXCLUSIONS,
          firstPass: history.isFirst(remote.url),
          ...(signal && { signal }),
          ...(progress && { progress }),
        });
        history.record(result);
        results.push(result);
      } finally {
        open.delete(remote);
        await remote.close();
      }
    }
  } finally {
    signal?.removeEventListener('abort', stop);
    clearTimeout(grace);
    await local.close();
  }
  return results;
}
