import { existsSync } from 'node:fs';
import type { SpoolConfig } from '../config/types.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { commandWaitSeconds } from '../sync/entity-run.ts';
import { checkCommands, newestPerKey } from './delivery-check.ts';
import { ROUND_LIMIT } from './delivery.ts';
import { journalError, journalFile, openDatabase, toCommand } from './journal-schema.ts';
import { spoolClient } from './servers.ts';
import type { JournaledCommand } from './spool-types.ts';

export interface ReplayResult {
  readonly checked: number;
  readonly submitted: number;
  readonly held: number;
  readonly expired: number;
  readonly failed: number;
}

/**
 * `puppetdb-sync spool replay --server URL --since TIME`: every journaled command since
 * `sinceMs` (pending or settled) checked against `serverUrl`, a server restored from an
 * older backup, which need not be one of spool.servers, and what it lacks submitted,
 * as the delivery does but ignoring grace and what the journal says was settled. It
 * reads the journal while the spool runs, and changes nothing in it. Of several
 * commands for one record key in a page, the newest is submitted and the older ones
 * count as held. A failed lookup throws (the server is down); a failed submission is
 * counted and the replay goes on.
 */
export async function replayJournal(config: SpoolConfig, log: Logger, options: { readonly serverUrl: string; readonly sinceMs: number }): Promise<ReplayResult> {
  const file = journalFile(config.spool.journalDir);
  if (!existsSync(file)) throw new SyncError('PDBSYNC_ERR_SPOOL_JOURNAL', `${file} does not exist: nothing was ever journaled in spool.journal-dir`);
  const db = (() => {
    try {
      return openDatabase(file);
    } catch (error) {
      throw journalError(error, `opening the journal ${file}`);
    }
  })();
  const page = db.prepare('SELECT c.id, c.uuid, c.received_at, c.command, c.version, c.certname, c.producer_timestamp, c.encoding, c.body FROM commands c WHERE c.id > ? AND c.received_at >= ? ORDER BY c.id LIMIT ?');
  const client = spoolClient(options.serverUrl, config, log);
  const waitSeconds = commandWaitSeconds(config.spool.requestTimeoutMs);
  const counts = { checked: 0, submitted: 0, held: 0, expired: 0, failed: 0 };
  const replayLog = log.child({ spool: 'replay', remote: options.serverUrl });
  try {
    for (let afterId = 0; ; ) {
      const commands: JournaledCommand[] = page.all(afterId, options.sinceMs, ROUND_LIMIT).map(toCommand);
      if (commands.length === 0) break;
      afterId = commands.at(-1)!.id;
      const checked = await checkCommands(commands, client, config.spool, Date.now());
      const { send, later } = newestPerKey(checked);
      counts.checked += checked.length;
      counts.held += later.length;
      for (const item of checked) {
        if (item.decision === 'held' || item.decision === 'expired') counts[item.decision] += 1;
        else if (item.decision === 'unreadable' || item.decision === 'unknown') {
          counts.failed += 1;
          replayLog.error({ id: item.journaled.id, err: item.decision === 'unreadable' ? item.error : undefined }, `journaled command ${item.journaled.id} could not be checked`);
        }
      }
      const queue = [...send];
      const worker = async () => {
        for (let item = queue.shift(); item; item = queue.shift()) {
          if (item.decision !== 'submit') continue;
          try {
            await client.submit(item.submission, waitSeconds);
            counts.submitted += 1;
            replayLog.debug({ id: item.journaled.id, command: item.journaled.command, certname: item.journaled.certname }, 'replayed');
          } catch (error) {
            counts.failed += 1;
            replayLog.error({ id: item.journaled.id, command: item.journaled.command, certname: item.journaled.certname, err: error }, `${item.journaled.command} for ${item.journaled.certname} not applied`);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, config.spool.concurrency) }, worker));
    }
  } finally {
    db.close();
    await client.close();
  }
  replayLog.info(counts, `replay to ${options.serverUrl}: ${counts.submitted} submitted, ${counts.held} held, ${counts.expired} expired, ${counts.failed} failed of ${counts.checked}`);
  return counts;
}
