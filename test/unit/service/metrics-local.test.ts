import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { LocalProbe, localProbe, type LocalReading } from '../../../src/service/metrics-local.ts';
import { PuppetDbClient } from '../../../src/puppetdb/client.ts';
import { fakeServer, json, silent, type FakeServer } from '../fake-server.ts';

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** The readings a probe reports, and a promise for the first `count` of them. */
function recorder() {
  const readings: LocalReading[] = [];
  let wanted = 0;
  let done: () => void = () => {};
  return {
    readings,
    observer: {
      localStatus(reading: LocalReading) {
        readings.push(reading);
        if (readings.length === wanted) done();
      },
    },
    first(count: number): Promise<LocalReading[]> {
      wanted = count;
      return readings.length >= count ? Promise.resolve(readings) : new Promise((resolve) => (done = () => resolve(readings)));
    },
  };
}

const status = (depth: number) => json(200, { service_version: '8.8.1', state: 'running', status: { queue_depth: depth } });

describe('LocalProbe', () => {
  it('reads the queue depth every interval, and reports a server that stops answering as down, once per failure', async () => {
    const local = await fakeServer([status(3), status(5), json(503, { error: 'maintenance' }), status(0)]);
    servers.push(local);
    const { observer, first } = recorder();
    const client = new PuppetDbClient(local.url, { timeoutMs: 1_000, retry: { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 } });
    const probe = new LocalProbe(client, observer, 20);
    probe.start();
    const readings = await first(4);
    await probe.stop();
    expect(readings.slice(0, 4)).toEqual([{ up: true, queueDepth: 3 }, { up: true, queueDepth: 5 }, { up: false }, { up: true, queueDepth: 0 }]);
    // One request per reading: a failed probe is not retried.
    expect(local.requests.slice(0, 4).map((request) => request.url)).toEqual(Array(4).fill('/status/v1/services/puppetdb-status'));
  });

  it('stops at once with a probe in flight, and reports nothing of it', async () => {
    const local = await fakeServer([silent]);
    servers.push(local);
    const config = await parseConfig(`local: { server_url: "${local.url}" }\nsync: { remotes: [ { server_url: "http://127.0.0.1:1" } ] }\n`, 'sync.conf');
    const { observer, readings } = recorder();
    const probe = localProbe(config, observer);
    probe.start();
    while (local.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const started = Date.now();
    await probe.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(readings).toEqual([]);
  });
});
