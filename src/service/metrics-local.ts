import { setTimeout as sleep } from 'node:timers/promises';
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../config/types.ts';
import { PuppetDbClient } from '../puppetdb/client.ts';

/** What one probe of the local PuppetDB found: its command queue depth, or no answer. */
export type LocalReading = { readonly up: true; readonly queueDepth: number } | { readonly up: false };

export interface LocalStatusObserver {
  localStatus(reading: LocalReading): void;
}

/** About a scrape interval: a fresher reading would go unseen, and one small GET this often costs nothing. */
export const LOCAL_PROBE_INTERVAL_MS = 15_000;
/** Longer than PuppetDB takes to answer its status even when busy, short enough not to hold up a stop. */
export const LOCAL_PROBE_TIMEOUT_MS = 10_000;

/**
 * Reads the local PuppetDB's status (its command queue depth) every interval, from
 * start to stop, whether this sidecar syncs or stands by, with a client of its own:
 * one attempt, no retry, its own circuit breaker, so a probe never holds up or fails
 * a pass. The passes' own reads of the depth (sync.queue-limit) happen only while
 * records transfer: in step, they would leave the gauge stale.
 */
export class LocalProbe {
  readonly client: PuppetDbClient;
  private readonly observer: LocalStatusObserver;
  private readonly intervalMs: number;
  private readonly stopping = new AbortController();
  private running: Promise<void> = Promise.resolve();

  constructor(client: PuppetDbClient, observer: LocalStatusObserver, intervalMs = LOCAL_PROBE_INTERVAL_MS) {
    this.client = client;
    this.observer = observer;
    this.intervalMs = intervalMs;
  }

  start(): void {
    this.running = this.probeUntilStopped();
  }

  /** Gives up a probe in flight and closes the client. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.client.giveUp();
    await this.running;
    await this.client.close();
  }

  private async probeUntilStopped(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const reading = await this.client.queueDepth().then(
        (queueDepth): LocalReading => ({ up: true, queueDepth }),
        (): LocalReading => ({ up: false }),
      );
      // A probe given up by the stop says nothing of the server.
      if (signal.aborted) return;
      this.observer.localStatus(reading);
      await sleep(this.intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }
}

/** A probe of `config`'s local server, telling `observer`. */
export function localProbe(config: Config, observer: LocalStatusObserver): LocalProbe {
  const client = new PuppetDbClient(config.local.serverUrl, {
    timeoutMs: Math.min(config.sync.requestTimeoutMs, LOCAL_PROBE_TIMEOUT_MS),
    tls: config.tls,
    connections: 1,
    retry: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 },
  });
  return new LocalProbe(client, observer);
}

/** The local server's gauges; the returned function sets them from a reading. */
export function registerLocalGauges(registry: Registry, prefix: string): (reading: LocalReading) => void {
  const registers = [registry];
  const up = new Gauge({
    name: `${prefix}local_up`,
    help: `Whether the local PuppetDB answered the last probe of its status (1) or not (0: refused, timed out, an error status such as 503 while it starts); probed every ${LOCAL_PROBE_INTERVAL_MS / 1000} s; absent before the first probe.`,
    registers,
  });
  const queueDepth = new Gauge({
    name: `${prefix}local_queue_depth`,
    help: 'Commands waiting in the local PuppetDB\'s command queue, as the last probe read it; absent while the local server does not answer.',
    registers,
  });
  // remove(), not reset(): prom-client resets an unlabelled gauge to 0, not to absent.
  up.remove();
  queueDepth.remove();
  return (reading) => {
    up.set(reading.up ? 1 : 0);
    if (reading.up) queueDepth.set(reading.queueDepth);
    else queueDepth.remove();
  };
}
