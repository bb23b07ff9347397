import { setTimeout as sleep } from 'node:timers/promises';
import type { SerializedCommand } from './command.ts';
import type { ServerVersion } from './versions.ts';

const POLL_MS = 1_000;

/** What the guard asks of the server it guards. */
export interface GuardedServer {
  version(): Promise<ServerVersion>;
  queueDepth(): Promise<number>;
}

/**
 * What a submission waits for before it is sent, so that the sidecar never races a
 * copy of the same record into one server:
 * - one submission of a record (command, certname and producer time) at a time, from
 *   all of this process's passes: two remotes can offer the same record at once;
 * - on a server with the duplicate-report race (versions.ts), a report is sent only
 *   once the server's queue has been seen empty sync.report-settle past the
 *   report's producer time: every copy another client (the terminus, broadcasting)
 *   sent it has then been processed, and the sidecar's copy is processed after it,
 *   not beside it. PuppetDB's queue_depth counts commands until they are finished,
 *   including one it retries (for hours, at worst): a queue not seen empty within
 *   another sync.report-settle is waited for no longer, so that one stuck command
 *   does not hold every report back.
 */
export class SubmitGuard {
  private readonly server: GuardedServer;
  private readonly reportSettleMs: number;
  private readonly inFlight = new Map<string, Promise<void>>();
  /** When the queue was last seen empty (ms, this clock): the request was sent no earlier. */
  private queueSeenEmptyAt = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  /** `reportSettleMs`: sync.report-settle. */
  constructor(server: GuardedServer, reportSettleMs: number, now: () => number = Date.now) {
    this.server = server;
    this.reportSettleMs = reportSettleMs;
    this.now = now;
  }

  /** Resolves once `command` may be sent; the function it gives must be called once it is done. */
  async admit(command: Pick<SerializedCommand, 'command' | 'certname' | 'producerTimestamp'>, signal?: AbortSignal): Promise<() => void> {
    const key = `${command.command}\u0000${command.certname}\u0000${command.producerTimestamp}`;
    for (let running = this.inFlight.get(key); running; running = this.inFlight.get(key)) await running;
    let release!: () => void;
    this.inFlight.set(key, new Promise<void>((resolve) => (release = resolve)));
    const done = () => {
      this.inFlight.delete(key);
      release();
    };
    try {
      if (command.command === 'store_report') await this.settled(Date.parse(command.producerTimestamp), signal);
    } catch (error) {
      done();
      throw error;
    }
    return done;
  }

  private async settled(producedMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (!(await this.server.version()).traits.duplicateReportRace) return;
    // A report dated ahead of this clock (a skewed agent or server) was sent no later than now.
    const safeAfter = Math.min(producedMs, this.now()) + this.reportSettleMs;
    const givenUpAt = safeAfter + this.reportSettleMs;
    while (this.queueSeenEmptyAt < safeAfter && this.now() < givenUpAt) {
      signal?.throwIfAborted();
      const wait = safeAfter - this.now();
      if (wait > 0) {
        await sleep(Math.min(wait, POLL_MS * 10), undefined, { signal }).catch(() => undefined);
        continue;
      }
      const asked = this.now();
      if ((await this.server.queueDepth()) === 0) this.queueSeenEmptyAt = Math.max(this.queueSeenEmptyAt, asked);
      else await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }
}
