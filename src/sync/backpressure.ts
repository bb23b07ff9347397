import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import type { PuppetDbClient } from '../puppetdb/client.ts';

const POLL_MS = 1_000;

/**
 * Holds transfers back while the local PuppetDB's command queue is deeper than the
 * limit: the sync must not bury the server it feeds. The depth is read at most once
 * a second, not once per record. Under `run` one gate serves every pass, so the
 * passes of every remote, reconciliations and incremental passes alike, share one
 * budget of the local queue, and wait together for one reading of its depth.
 */
export class LocalQueueGate {
  private readonly local: PuppetDbClient;
  /** Read at each check: a reload may change sync.queue-limit. */
  private readonly limit: () => number;
  private readonly log: Logger;
  private checkedAt = 0;
  private waiting: Promise<void> | undefined;

  constructor(local: PuppetDbClient, limit: () => number, log: Logger) {
    this.local = local;
    this.limit = limit;
    this.log = log;
  }

  async wait(signal?: AbortSignal): Promise<void> {
    if (this.waiting) return this.waitFor(this.waiting, signal);
    if (this.limit() === 0 || Date.now() - this.checkedAt < POLL_MS) return;
    const waiting = this.check().finally(() => (this.waiting = undefined));
    // Each caller sees a failed reading through waitFor; one that left before it ended does not.
    waiting.catch(() => undefined);
    this.waiting = waiting;
    return this.waitFor(waiting, signal);
  }

  /** The shared wait, left early by a caller whose signal aborts. */
  private async waitFor(waiting: Promise<void>, signal?: AbortSignal): Promise<void> {
    if (!signal) return waiting;
    if (signal.aborted) return;
    let leave: () => void = () => undefined;
    const aborted = new Promise<void>((resolve) => {
      leave = resolve;
      signal.addEventListener('abort', leave, { once: true });
    });
    try {
      await Promise.race([waiting, aborted]);
    } finally {
      signal.removeEventListener('abort', leave);
    }
  }

  private async check(): Promise<void> {
    let depth = await this.local.queueDepth();
    this.checkedAt = Date.now();
    if (depth <= this.limit()) return;
    const started = Date.now();
    this.log.warn({ local: this.local.url, queueDepth: depth, queueLimit: this.limit() }, 'local command queue above sync.queue-limit: transfers wait');
    while (depth > this.limit()) {
      await sleep(POLL_MS);
      depth = await this.local.queueDepth();
    }
    this.checkedAt = Date.now();
    this.log.info({ local: this.local.url, queueDepth: depth, waitedMs: Date.now() - started }, 'local command queue below sync.queue-limit: transfers resume');
  }
}
