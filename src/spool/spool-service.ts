/**
 * `puppetdb-sync spool`: the process. Configuration → journal → metrics → HTTP
 * listener (command API, /health, /metrics) → delivery, and the minute's prune.
 * stop() undoes it in the order that loses nothing: stop listening (the appends in
 * flight finish and are answered), stop the delivery (the submissions in flight
 * finish), close the journal. The signals are spool-run.ts's.
 */

import type { FastifyInstance } from 'fastify';

import type { SpoolConfig } from '../config/types.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { ClientCertificateGuard } from '../service/http-tls.ts';
import { Journal } from './journal.ts';
import { SpoolMetrics } from './metrics.ts';
import { buildSpoolHttp } from './spool-http.ts';
import type { DeliveryObserver, JournalAccess } from './spool-types.ts';

/** How often the journal's bounds are applied (max-age, max-size). */
export const PRUNE_INTERVAL_MS = 60_000;

/** The delivery as the service drives it (delivery.ts's Delivery). */
export interface SpoolDelivery {
  start(): void;
  stop(): Promise<void>;
  /** SIGHUP: new requests to the servers use the `tls` block as read now. */
  useTls(tls: SpoolConfig['tls']): void;
}

/** Makes the delivery: one per process, on the journal the service opened. */
export type DeliveryFactory = (journal: JournalAccess, observer: DeliveryObserver) => SpoolDelivery;

export interface SpoolServiceOptions {
  readonly delivery: DeliveryFactory;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  /** Process metrics; on unless false (tests run several services in one process). */
  readonly processMetrics?: boolean;
}

/** Why the listener cannot listen, naming the keys that say where: one line, exit 2. */
function listenError(error: unknown, http: SpoolConfig['http']): SyncError {
  const code = (error as { code?: string }).code;
  const why = code === 'EADDRINUSE' ? 'is in use' : code === 'EACCES' ? 'is not allowed to this user' : code === 'EADDRNOTAVAIL' ? 'is not an address of this host' : (error as Error).message;
  return new SyncError('PDBSYNC_ERR_CONFIG_HTTP_LISTEN', `http.host ${http.host}, http.port ${http.port}: ${why}`);
}

export class SpoolService {
  readonly metrics: SpoolMetrics;
  /** Where the listener listens: `http://127.0.0.1:8097`. */
  readonly address: string;
  private readonly journal: Journal;
  private readonly app: FastifyInstance;
  private readonly delivery: SpoolDelivery;
  private readonly guard: ClientCertificateGuard | undefined;
  private readonly log: Logger;
  private readonly pruneTimer: NodeJS.Timeout;
  private stopping: Promise<void> | undefined;

  private constructor(parts: { journal: Journal; metrics: SpoolMetrics; app: FastifyInstance; delivery: SpoolDelivery; guard: ClientCertificateGuard | undefined; log: Logger; address: string }) {
    this.journal = parts.journal;
    this.metrics = parts.metrics;
    this.app = parts.app;
    this.delivery = parts.delivery;
    this.guard = parts.guard;
    this.log = parts.log;
    this.address = parts.address;
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_INTERVAL_MS);
    // The listener keeps the process alive; the timer must not keep a stopped one.
    this.pruneTimer.unref();
  }

  /** Opens the journal, listens and starts the delivery; throws a coded error when any of them cannot. */
  static async start(config: SpoolConfig, log: Logger, options: SpoolServiceOptions): Promise<SpoolService> {
    const { spool } = config;
    const servers = spool.servers.map((server) => server.serverUrl);
    let metrics: SpoolMetrics | undefined;
    const journal = Journal.open(spool.journalDir, servers, { maxBytes: spool.maxBytes, maxAgeMs: spool.maxAgeMs }, { dropped: (reason, count) => metrics?.dropped(reason, count) }, options.now);
    try {
      metrics = new SpoolMetrics({ stats: () => journal.stats(), maxBytes: spool.maxBytes, servers, ...(options.now && { now: options.now }), processMetrics: options.processMetrics !== false });
      const guard = config.http.tls ? new ClientCertificateGuard(config.http.tls) : undefined;
      const app = buildSpoolHttp({ journal, maxCommandBytes: spool.maxCommandBytes, metrics, journalFailure: () => journal.failure, log, ...(guard && { guard }), ...(options.now && { now: options.now }) });
      const address = await app.listen({ host: config.http.host, port: config.http.port }).catch((error: unknown) => {
        throw listenError(error, config.http);
      });
      const delivery = options.delivery(journal, metrics);
      const service = new SpoolService({ journal, metrics, app, delivery, guard, log, address });
      journal.prune();
      delivery.start();
      log.info({ address, tls: guard !== undefined, journal: spool.journalDir, servers, ...journalFigures(journal) }, 'spool listening');
      return service;
    } catch (error) {
      journal.close();
      throw error;
    }
  }

  /** SIGHUP: the TLS files of both sides as `next` read them. */
  reloadTls(next: SpoolConfig): void {
    if (this.guard && next.http.tls) this.guard.reload(next.http.tls);
    this.delivery.useTls(next.tls);
    this.log.info({ crl: next.tls?.crlFile ?? null, httpCrl: next.http.tls?.crlFile ?? null }, 'configuration reload: new TLS files in use');
  }

  /** No new command; those in flight are journaled and answered, the delivery stops, the journal closes. */
  stop(): Promise<void> {
    this.stopping ??= this.stopInOrder();
    return this.stopping;
  }

  private async stopInOrder(): Promise<void> {
    clearInterval(this.pruneTimer);
    await this.app.close();
    await this.delivery.stop();
    this.journal.close();
    this.log.info({ maxRssBytes: process.resourceUsage().maxRSS * 1024 }, 'spool stopped');
  }

  private prune(): void {
    try {
      this.journal.prune();
    } catch (error) {
      this.log.error({ err: error }, 'spool: pruning the journal failed; tried again in a minute');
    }
  }
}

function journalFigures(journal: Journal): Record<string, number> {
  const stats = journal.stats();
  return { commands: stats.commands, bytes: stats.bytes, pending: [...stats.pending.values()].reduce((sum, server) => sum + server.commands, 0) };
}
