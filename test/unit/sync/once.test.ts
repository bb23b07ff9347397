import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';
import { syncOnce } from '../../../src/sync/once.ts';
import { fakeServer, json, type FakeServer } from '../fake-server.ts';
import { emptyLocal, factset, factsetsRemote, keptLog } from './fake-puppetdb.ts';

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('syncOnce, stopped', () => {
  it('gives up on records still in flight when the grace runs out', async () => {
    const stopping = new AbortController();
    const remote = await fakeServer([
      factsetsRemote(['a', 'b', 'c'], (certname, request, body, response) => {
        stopping.abort();
        setTimeout(() => json(200, [factset(certname)])(request, body, response), 10_000);
      }),
    ]);
    const local = await fakeServer([emptyLocal]);
    servers.push(remote, local);
    const config = await parseConfig(`local: { server_url: "${local.url}" }\nsync: { remotes: [ { server_url: "${remote.url}" } ], concurrency: 1 }\n`, 'sync.conf');
    const { log, lines } = keptLog();

    const started = performance.now();
    const [result] = await syncOnce(config, log, { signal: stopping.signal, graceMs: 300 });
    const ms = performance.now() - started;

    expect(ms).toBeLessThan(3_000);
    expect(result).toMatchObject({ ok: false });
    expect(result!.entities.at(-1)).toMatchObject({ entity: 'factsets', transferred: 0, failed: 1 });
    expect(lines.find((line) => line.message === 'stopping without waiting longer for records in flight')).toMatchObject({ graceMs: 300 });
    expect(lines.find((line) => line.phase === 'record' && line.sync_event === 'error')).toMatchObject({ certname: 'a', err: { code: 'PDBSYNC_ERR_STOPPED' } });
  });
});
