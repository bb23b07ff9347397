import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { SyncService } from '../../../src/service/service.ts';
import { fakeServer, json, type FakeServer } from '../fake-server.ts';
import { emptyLocal, factset, factsetsRemote, keptLog } from '../sync/fake-puppetdb.ts';

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('SyncService.stop', () => {
  it('gives up on records still in flight when the grace runs out', async () => {
    let recordAsked: () => void;
    const asked = new Promise<void>((resolve) => (recordAsked = resolve));
    const remote = await fakeServer([
      factsetsRemote(['a', 'b'], (certname, request, body, response) => {
        recordAsked();
        setTimeout(() => json(200, [factset(certname)])(request, body, response), 10_000);
      }),
    ]);
    const local = await fakeServer([emptyLocal]);
    servers.push(remote, local);
    const config = await parseConfig(`local: { server_url: "${local.url}" }\nsync: { remotes: [ { server_url: "${remote.url}" } ], concurrency: 1 }\nhttp: { port: 0 }\n`, 'sync.conf');
    const { log, lines } = keptLog();
    const service = new SyncService(config, log);
    service.start();
    await asked;

    const started = performance.now();
    await service.stop(300);
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(lines.find((line) => line.phase === 'record' && line.sync_event === 'error')).toMatchObject({ certname: 'a', err: { code: 'PDBSYNC_ERR_STOPPED' } });
  });
});
