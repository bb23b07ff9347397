import { hostname } from 'node:os';
import { loadConfig } from '../config/load.ts';
import type { Config, HttpConfig } from '../config/types.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { logProgress, ProgressReporter } from '../progress/reporter.ts';
import { ProgressTracker } from '../progress/tracker.ts';
import { PgSyncState } from '../state/store.ts';
import { STOP_GRACE_MS } from '../wiring.ts';
import { buildHttpApi } from './http.ts';
import { ClientCertificateGuard } from './http-tls.ts';
import { SyncMetrics } from './metrics.ts';
import { SyncService } from './service.ts';

/** What of `http` a SIGHUP cannot change: the API's address and grace, and whether it uses TLS (its files can). */
function httpRestartOnly(running: HttpConfig, next: HttpConfig): string[] {
  return [
    ...(next.host !== running.host ? ['http.host'] : []),
    ...(next.port !== running.port ? ['http.port'] : []),
    ...(next.startupGraceMs !== running.startupGraceMs ? ['http.startup-grace'] : []),
    ...((next.tls === undefined) !== (running.tls === undefined) ? ['http.ssl-cert'] : []),
  ];
}

/** Why the API cannot listen, naming the keys that say where: one line, exit 2. */
function listenError(error: unknown, http: HttpConfig): SyncError {
  const code = (error as { code?: string }).code;
  const why = code === 'EADDRINUSE' ? 'is in use' : code === 'EACCES' ? 'is not allowed to this user' : code === 'EADDRNOTAVAIL' ? 'is not an address of this host' : (error as Error).message;
  return new SyncError('PDBSYNC_ERR_CONFIG_HTTP_LISTEN', `http.host ${http.host}, http.port ${http.port}: ${why} (http.port 0 turns the API off)`);
}

/**
 * `puppetdb-sync run`: the service, its HTTP API, and the signals. Resolves once
 * SIGTERM or SIGINT has stopped everything; SIGHUP reloads the configuration file.
 */
export async function runService(config: Config, log: Logger): Promise<void> {
  const progress = new ProgressTracker(config.sync.progressIntervalMs);
  const metrics = new SyncMetrics({ remotes: config.sync.remotes.map((remote) => remote.serverUrl), progress });
  const stored = config.state && new PgSyncState(config.state, log, `${hostname()}:${process.pid}`);
  const service = new SyncService(config, log, metrics, stored);
  metrics.watchSidecar(() => service.sidecar(), () => service.servers());
  const guard = config.http.port !== 0 && config.http.tls ? new ClientCertificateGuard(config.http.tls) : undefined;
  const api = config.http.port === 0 ? undefined : buildHttpApi(service, metrics, { startupGraceMs: config.http.startupGraceMs, progress, ...(guard && { guard }) });
  if (api) {
    const address = await api.listen({ host: config.http.host, port: config.http.port }).catch((error: unknown) => {
      throw listenError(error, config.http);
    });
    log.info({ address, tls: guard !== undefined }, 'HTTP API listening');
  }
  const progressLines = new ProgressReporter(progress, logProgress(log));
  progressLines.start();
  await service.start();

  const reload = () => {
    loadConfig(config.file).then(
      (next) => {
        service.reload(next);
        progress.intervalMs = next.sync.progressIntervalMs;
        const ignored = httpRestartOnly(config.http, next.http);
        if (ignored.length > 0) log.warn({ keys: ignored }, 'configuration reload: these settings change only on restart');
        if (guard && next.http.tls) guard.reload(next.http.tls);
      },
      (error: unknown) => log.error({ err: error }, 'configuration reload failed: the running configuration stays'),
    );
  };
  process.on('SIGHUP', reload);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  process.off('SIGHUP', reload);
  log.info({ signal }, 'stopping: no new records, waiting for those in flight');
  await api?.close();
  await service.stop(STOP_GRACE_MS);
  progressLines.stop();
  log.info({ maxRssBytes: process.resourceUsage().maxRSS * 1024 }, 'stopped');
}
