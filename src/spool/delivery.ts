import type { SpoolSettings } from '../config/types.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { PuppetDbClient } from '../puppetdb/client.ts';
import { commandWaitSeconds } from '../sync/entity-run.ts';
import { STOP_GRACE_MS } from '../wiring.ts';
import { checkCommands, newestPerKey, type Checked } from './delivery-check.ts';
import { CommandBackoff, ServerBackoff } from './delivery-backoff.ts';
import type { DeliveryObserver, JournalAccess, SettleReason } from './spool-types.ts';

export { spoolClients } from './servers.ts';

/** Due commands checked per round and server: one lookup query per entity, as the sidecar's batches. */
export const ROUND_LIMIT = 500;
/** How often a server with nothing due is asked the journal again: the journal is local, this costs nothing. */
export const POLL_MS = 5_000;

/**
 * Errors of one command that say nothing of the server: PuppetDB failed or did not
 * confirm applying it, or refused it (400, 413). The command waits (CommandBackoff);
 * the server's other commands go on.
 */
const COMMAND_ERRORS = new Set(['PDBSYNC_ERR_COMMAND_FAILED', 'PDBSYNC_ERR_COMMAND_UNCONFIRMED', 'PDBSYNC_ERR_HTTP_REJECTED']);

interface RoundResult {
  readonly checked: number;
  readonly settled: Readonly<Record<SettleReason, number>>;
  readonly failed: number;
}

/**
 * Fills what the terminus's broadcast and the sidecars left out (docs/architecture.md#the-spool):
 * each server on its own loop of rounds. A round reads the commands pending for the
 * server that were journaled at least spool.grace ago, checks them against the server
 * (delivery-check.ts), settles those it holds or that expired, and submits the rest,
 * spool.concurrency at once, each settled `delivered` only once PuppetDB applied it.
 * A server failing (a lookup, or a submission for a reason not the command's own) ends
 * its round and waits ServerBackoff; the other servers are not held up.
 */
export class Delivery {
  private readonly journal: JournalAccess;
  private readonly clients: readonly PuppetDbClient[];
  private readonly settings: SpoolSettings;
  private readonly log: Logger;
  private readonly observer: DeliveryObserver;
  private readonly now: () => number;
  private readonly abort = new AbortController();
  private readonly wakers = new Set<() => void>();
  private loops: Promise<void>[] = [];
  private stopping = false;

  constructor(journal: JournalAccess, clients: readonly PuppetDbClient[], settings: SpoolSettings, log: Logger, observer: DeliveryObserver, now: () => number = Date.now) {
    this.journal = journal;
    this.clients = clients;
    this.settings = settings;
    this.log = log.child({ spool: 'delivery' });
    this.observer = observer;
    this.now = now;
  }

  /** Starts the delivery rounds (each server on its own, with backoff while it fails). */
  start(): void {
    if (this.loops.length > 0 || this.stopping) return;
    this.loops = this.clients.map((client) => this.serverLoop(client));
  }

  /** No new submission; those in flight finish (at most STOP_GRACE_MS: 30 s), then resolves. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const wake of this.wakers) wake();
    const giveUp = setTimeout(() => this.abort.abort(new SyncError('PDBSYNC_ERR_STOPPED', 'the spool is stopping')), STOP_GRACE_MS);
    try {
      await Promise.all(this.loops);
    } finally {
      clearTimeout(giveUp);
    }
  }

  private async serverLoop(client: PuppetDbClient): Promise<void> {
    const server = client.url;
    const backoff = new ServerBackoff();
    const commands = new CommandBackoff();
    while (!this.stopping) {
      let wait = POLL_MS;
      try {
        client.breaker.reset();
        const result = await this.round(client, commands);
        backoff.succeeded();
        if (result.checked > 0) this.logRound(server, result);
        // A full round: more may be due at once.
        if (result.checked >= ROUND_LIMIT) wait = 0;
      } catch (error) {
        if (this.stopping) break;
        wait = backoff.failed();
        this.observer.failed(server, error);
        this.log.warn({ remote: server, event: 'error', retryInMs: wait, err: error }, `delivery to ${server} failed; trying again in ${Math.round(wait / 1000)} s`);
      }
      await this.sleep(wait);
    }
  }

  private async round(client: PuppetDbClient, commands: CommandBackoff): Promise<RoundResult> {
    const server = client.url;
    const now = this.now();
    // Commands waiting out their own backoff are passed over, not let block those behind them.
    const due = this.journal.due(server, now - this.settings.graceMs, ROUND_LIMIT + commands.size).filter((command) => commands.ready(command.id, now)).slice(0, ROUND_LIMIT);
    const settled: Record<SettleReason, number> = { delivered: 0, held: 0, expired: 0 };
    if (due.length === 0) return { checked: 0, settled, failed: 0 };
    const checked = await checkCommands(due, client, this.settings, now);
    const settle = (item: Checked, reason: SettleReason) => {
      this.journal.settle(item.journaled.id, server, reason);
      commands.forget(item.journaled.id);
      settled[reason] += 1;
      this.observer.settled(server, item.journaled.command, reason);
    };
    for (const item of checked) {
      if (item.decision === 'held' || item.decision === 'expired') settle(item, item.decision);
      else if (item.decision === 'unreadable') {
        // Not to be: the command API refuses what no entity reads. Kept pending it would hold every gauge up for nothing.
        this.log.error({ remote: server, id: item.journaled.id, uuid: item.journaled.uuid, err: item.error }, `journaled command ${item.journaled.id} cannot be read; settled as expired, never sent`);
        settle(item, 'expired');
      }
    }
    const failed = await this.submitAll(client, newestPerKey(checked).send, commands, (item) => settle(item, 'delivered'));
    return { checked: checked.length, settled, failed };
  }

  /** Submits `items`, spool.concurrency at once; throws the first error that is the server's, once those in flight ended. */
  private async submitAll(client: PuppetDbClient, items: readonly Checked[], commands: CommandBackoff, delivered: (item: Checked) => void): Promise<number> {
    const server = client.url;
    const waitSeconds = commandWaitSeconds(this.settings.requestTimeoutMs);
    const queue = [...items];
    let serverError: unknown;
    let failed = 0;
    const worker = async () => {
      for (let item = queue.shift(); item && !this.stopping && serverError === undefined; item = queue.shift()) {
        if (item.decision !== 'submit') continue;
        const { journaled } = item;
        try {
          const uuid = await client.submit(item.submission, waitSeconds, this.abort.signal);
          delivered(item);
          this.log.debug({ remote: server, id: journaled.id, command: journaled.command, certname: journaled.certname, producerTimestamp: journaled.producerTimestamp, pdbUuid: uuid }, 'delivered');
        } catch (error) {
          if (!(error instanceof SyncError && COMMAND_ERRORS.has(error.code))) {
            serverError ??= error;
            return;
          }
          failed += 1;
          this.observer.failed(server, error);
          const { delayMs, first } = commands.failed(journaled.id, this.now());
          const fields = { remote: server, id: journaled.id, command: journaled.command, certname: journaled.certname, retryInMs: delayMs, err: error };
          // Logged at warn once per command; each retry after is at debug, so a command PuppetDB keeps refusing does not flood the log.
          this.log[first ? 'warn' : 'debug'](fields, `${journaled.command} for ${journaled.certname} not applied by ${server}; kept pending`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.settings.concurrency) }, worker));
    if (serverError !== undefined) throw serverError;
    return failed;
  }

  private logRound(server: string, { checked, settled, failed }: RoundResult): void {
    if (settled.delivered + settled.held + settled.expired + failed === 0) return;
    this.log.info({ remote: server, checked, ...settled, failed }, `delivery to ${server}: ${settled.delivered} delivered, ${settled.held} held, ${settled.expired} expired, ${failed} failed`);
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}
