import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import type { PuppetDbClient } from '../puppetdb/client.ts';

const POLL_MS = 1_000;

/**
 * Holds transfers back while the local PuppetDB's command queue is deeper than the
 * limit: the sync must not bury the server it feeds. The depth is read at most once
 * a second, not once per record.
 */
export class LocalQueueGate {
  private readonly local: PuppetDbClient;
  private readonly limit: number;
  private readonly log: Logger;
  private checkedAt = 0;

  constructor(local: PuppetDbClient, limit: number, log: Logger) {
    this.local = local;
    this.limit = limit;
    this.log = log;
  }

  async wait(signal?: AbortSignal): Promise<void> {
    if (this.limit === 0 || Date.now() - this.checkedAt < POLL_MS) return;
    let depth = await this.local.queueDepth();
    this.checkedAt = Date.now();
    if (depth <= this.limit) return;
    const started = Date.now();
    this.log.warn({ local: this.local.url, queueDepth: depth, queueLimit: this.limit }, 'local command queue above sync.queue-limit: transfers wait');
    while (depth > this.limit && !signal?.aborted) {
      await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
      depth = await this.local.queueDepth();
    }
    this.checkedAt = Date.now();
    this.log.info({ local: this.local.url, queueDepth: depth, waitedMs: Date.now() - started }, 'local command queue below sync.queue-limit: transfers resume');
  }
}
