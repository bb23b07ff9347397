/**
 * The spool's metrics (docs/operations.md#spool-metrics), on a registry of their own
 * with the process metrics and pdbsync_build_info. The journal's gauges are read from
 * Journal.stats() at each scrape, so nothing polls between scrapes.
 */

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import { registerBuildInfo, registerProcessMetrics } from '../service/metrics-process.ts';
import type { CommandObserver, UnavailableReason } from './command-api.ts';
import type { RefusedReason } from './command-checks.ts';
import type { JournalEvents, JournalStats } from './journal.ts';
import type { DeliveryObserver, SettleReason } from './spool-types.ts';

const PREFIX = 'pdbsync_spool_';

/**
 * The event loop's delay sampled once a second, not prom-client's every 10 ms: those
 * wake-ups were most of an idle spool's CPU (0.5 of 0.6 CPU seconds a minute).
 */
const EVENT_LOOP_SAMPLE_MS = 1000;

/** Request end to durable: a group commit's fsync, a millisecond to tens on a busy disk. */
const JOURNAL_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface SpoolMetricsOptions {
  /** The journal's figures, read at each scrape. */
  readonly stats: () => JournalStats;
  readonly maxBytes: number;
  /** The configured servers: their series exist from the start, at 0. */
  readonly servers: readonly string[];
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  /** Process metrics (CPU, memory, event loop, GC); on unless false. */
  readonly processMetrics?: boolean;
}

export class SpoolMetrics implements CommandObserver, DeliveryObserver, JournalEvents {
  readonly registry: Registry;
  readonly contentType: string;

  private readonly received: Counter<'command'>;
  private readonly refusedTotal: Counter<'reason'>;
  private readonly unavailableTotal: Counter<'reason'>;
  private readonly journalSeconds: Histogram;
  private readonly settledTotal: Counter<'server' | 'reason'>;
  private readonly droppedTotal: Counter<'reason'>;
  private readonly deliveryFailures: Counter<'server'>;

  constructor(options: SpoolMetricsOptions) {
    const now = options.now ?? Date.now;
    const registry = new Registry();
    this.registry = registry;
    this.contentType = registry.contentType;
    const registers = [registry];
    if (options.processMetrics !== false) registerProcessMetrics(registry, EVENT_LOOP_SAMPLE_MS);
    registerBuildInfo(registry, 'pdbsync_');

    this.received = new Counter({ name: `${PREFIX}received_total`, help: 'Commands journaled (or found journaled already, byte for byte) and answered 200, by command.', labelNames: ['command'], registers });
    this.refusedTotal = new Counter({
      name: `${PREFIX}refused_total`,
      help: 'Commands not journaled because PuppetDB would not apply them: answered 4xx as PuppetDB answers, or 200 and discarded as PuppetDB dead-letters them; by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.unavailableTotal = new Counter({ name: `${PREFIX}unavailable_total`, help: 'Commands answered 503 because the journal could not take them: full (spool.max-size or the disk) or journal (I/O error, damage).', labelNames: ['reason'], registers });
    this.journalSeconds = new Histogram({ name: `${PREFIX}journal_seconds`, help: 'Seconds from a command\'s request read to its journaling synced to disk (checks and group commit included).', buckets: JOURNAL_BUCKETS, registers });
    this.settledTotal = new Counter({
      name: `${PREFIX}settled_total`,
      help: 'Commands no longer pending for a server: delivered (submitted and applied), held (the server holds it or something newer) or expired (past report-ttl or node-purge-ttl).',
      labelNames: ['server', 'reason'],
      registers,
    });
    this.droppedTotal = new Counter({ name: `${PREFIX}dropped_total`, help: 'Commands removed from the journal while still pending for some server: past spool.max-age, or over spool.max-size.', labelNames: ['reason'], registers });
    this.deliveryFailures = new Counter({ name: `${PREFIX}delivery_failures_total`, help: 'Lookups or submissions to a server that failed; the command stays pending and is tried again.', labelNames: ['server'], registers });
    for (const server of options.servers) this.deliveryFailures.inc({ server }, 0);
    for (const reason of ['full', 'journal'] satisfies UnavailableReason[]) this.unavailableTotal.inc({ reason }, 0);
    for (const reason of ['max-age', 'max-size'] as const) this.droppedTotal.inc({ reason }, 0);

    const stats = options.stats;
    const ageSeconds = (at: number | null): number => (at === null ? 0 : Math.max(0, (now() - at) / 1000));
    new Gauge({ name: `${PREFIX}journal_commands`, help: 'Commands in the journal, pending or kept for replay.', registers, collect() { this.set(stats().commands); } });
    new Gauge({ name: `${PREFIX}journal_bytes`, help: 'Bytes the journal\'s commands take (bodies and a row\'s overhead), counted against spool.max-size.', registers, collect() { this.set(stats().bytes); } });
    new Gauge({ name: `${PREFIX}journal_max_bytes`, help: 'spool.max-size: the bytes the journal may hold.', registers }).set(options.maxBytes);
    new Gauge({ name: `${PREFIX}journal_oldest_seconds`, help: 'Age in seconds of the oldest command in the journal; 0 when it is empty.', registers, collect() { this.set(ageSeconds(stats().oldestReceivedAt)); } });
    const servers = options.servers;
    new Gauge({
      name: `${PREFIX}pending_commands`,
      help: 'Commands journaled and not yet settled for the server (delivered, held or expired).',
      labelNames: ['server'],
      registers,
      collect() {
        const pending = stats().pending;
        for (const server of servers) this.set({ server }, pending.get(server)?.commands ?? 0);
      },
    });
    new Gauge({
      name: `${PREFIX}oldest_pending_seconds`,
      help: 'Age in seconds of the oldest command pending for the server; 0 when none is.',
      labelNames: ['server'],
      registers,
      collect() {
        const pending = stats().pending;
        for (const server of servers) this.set({ server }, ageSeconds(pending.get(server)?.oldestReceivedAt ?? null));
      },
    });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  journaled(command: string, seconds: number): void {
    this.received.inc({ command });
    this.journalSeconds.observe(seconds);
  }

  refused(reason: RefusedReason): void {
    this.refusedTotal.inc({ reason });
  }

  unavailable(reason: UnavailableReason): void {
    this.unavailableTotal.inc({ reason });
  }

  settled(server: string, _command: string, reason: SettleReason): void {
    this.settledTotal.inc({ server, reason });
  }

  failed(server: string): void {
    this.deliveryFailures.inc({ server });
  }

  dropped(reason: 'max-age' | 'max-size', count: number): void {
    this.droppedTotal.inc({ reason }, count);
  }
}
