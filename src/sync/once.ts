import type { Config } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { PassResult } from '../types.ts';
import { clientFor, ENTITIES, LOCAL_RETRY_POLICY, NODE_PURGE_EXCLUSIONS, PassHistory } from '../wiring.ts';
import { runPass } from './pass.ts';
import { MemorySyncState } from './sync-state.ts';

/** `once`: one exact reconciliation from every configured remote into the local server, one remote after another. */
export async function syncOnce(config: Config, log: Logger, history = new PassHistory()): Promise<PassResult[]> {
  const local = clientFor(config.local.serverUrl, config, log, { retry: LOCAL_RETRY_POLICY });
  const state = new MemorySyncState();
  const results: PassResult[] = [];
  try {
    for (const remoteConfig of config.sync.remotes) {
      const remote = clientFor(remoteConfig.serverUrl, config, log);
      try {
        const result = await runPass({
          remote,
          local,
          log,
          settings: config.sync,
          entities: ENTITIES,
          kind: 'reconcile',
          state,
          exclusions: NODE_PURGE_EXCLUSIONS,
          firstPass: history.isFirst(remote.url),
        });
        history.record(result);
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
