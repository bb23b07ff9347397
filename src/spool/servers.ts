import type { SpoolConfig, SpoolSettings, SyncSettings } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { PuppetDbClient } from '../puppetdb/client.ts';

/** One PuppetDbClient per spool.servers entry, with the spool's TLS, deadlines and retries. */
export function spoolClients(config: SpoolConfig, log: Logger, onRequestFailed?: () => void): PuppetDbClient[] {
  return config.spool.servers.map(({ serverUrl }) => spoolClient(serverUrl, config, log, onRequestFailed));
}

/** A client for one server, spool.servers' or `spool replay --server`'s. */
export function spoolClient(url: string, config: SpoolConfig, log: Logger, onRequestFailed?: () => void): PuppetDbClient {
  return new PuppetDbClient(url, {
    timeoutMs: config.spool.requestTimeoutMs,
    reportSettleMs: config.spool.reportSettleMs,
    tls: config.tls,
    connections: config.spool.concurrency + 2,
    ...(onRequestFailed && { onRequestFailed: () => onRequestFailed() }),
    onVersion: (learned) => log.info({ spool: 'delivery', remote: url, version: learned.version ?? 'unknown' }, `PuppetDB ${learned.version ?? 'of unknown version'} at ${url}`),
    onRetry: (error, attempt, delayMs) => log.warn({ phase: 'request', event: 'retry', remote: url, attempt, delayMs, err: error }, 'request failed, retrying'),
  });
}

/**
 * The sync settings an entity's lookups may read (SummaryContext), from the spool's:
 * the lookups the spool uses (counterparts) read none of the pass-only settings, which
 * are given their neutral values.
 */
export function lookupSettings(spool: SpoolSettings): SyncSettings {
  return {
    remotes: [],
    nodePurgeTtlMs: spool.nodePurgeTtlMs,
    reportTtlMs: spool.reportTtlMs,
    initialReportThresholdMs: 0,
    requestTimeoutMs: spool.requestTimeoutMs,
    concurrency: spool.concurrency,
    maxRecordBytes: spool.maxCommandBytes,
    entityTimeLimitMs: Number.POSITIVE_INFINITY,
    progressIntervalMs: Number.POSITIVE_INFINITY,
    jitterPercent: 0,
    backoffMaxMs: 0,
    queueLimit: 0,
    reconcileIntervalMs: Number.POSITIVE_INFINITY,
    watermarkOverlapMs: 0,
    lateArrivalWindowMs: 0,
    relayScanIntervalMs: Number.POSITIVE_INFINITY,
    reportSettleMs: spool.reportSettleMs,
  };
}
