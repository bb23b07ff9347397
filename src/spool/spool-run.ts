/**
 * `puppetdb-sync spool --config FILE`: the spool service with its delivery, and the
 * signals. SIGTERM or SIGINT: stop taking commands, answer those in flight, stop
 * the delivery, close the journal, resolve (exit 0). SIGHUP: the TLS files read
 * again, for the listener and for the servers.
 */

import { loadSpoolConfig } from '../config/load-spool.ts';
import type { SpoolConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { Delivery, spoolClients } from './delivery.ts';
import { SpoolService, type DeliveryFactory } from './spool-service.ts';

/** The delivery of delivery.ts, on one client per configured server. */
export function spoolDelivery(config: SpoolConfig, log: Logger): DeliveryFactory {
  return (journal, observer) => {
    const clients = spoolClients(config, log);
    const delivery = new Delivery(journal, clients, config.spool, log, observer);
    return {
      start: () => delivery.start(),
      stop: () => delivery.stop(),
      useTls: (tls) => {
        for (const client of clients) client.useTls(tls);
      },
    };
  };
}

export async function runSpool(config: SpoolConfig, log: Logger): Promise<void> {
  const service = await SpoolService.start(config, log, { delivery: spoolDelivery(config, log) });
  const reload = () => {
    loadSpoolConfig(config.file).then(
      (next) => service.reloadTls(next),
      (error: unknown) => log.error({ err: error }, 'configuration reload failed: the running TLS files stay'),
    );
  };
  process.on('SIGHUP', reload);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  process.off('SIGHUP', reload);
  log.info({ signal }, 'spool stopping: no new commands; those in flight are journaled and answered');
  await service.stop();
}
