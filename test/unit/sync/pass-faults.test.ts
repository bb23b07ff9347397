import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { PuppetDbClient } from '../../../src/puppetdb/client.ts';
import { runPass } from '../../../src/sync/pass.ts';
import { closeMidBody, drip, fakeServer, hangMidBody, json, silent, type FakeServer, type Handler } from '../fake-server.ts';
import { summaryContext } from '../fixtures.ts';
import { emptyLocal, factset, factsetsRemote, keptLog, RECONCILE } from './fake-puppetdb.ts';

/**
 * Dead and hung servers end the pass within about two request deadlines and one
 * backoff, with one coded line, however many records are left.
 */

/** sync.request-timeout here; the bounds are multiples of it, with generous margins for a loaded machine. */
const T = 1_000;
/** The default retry policy's first backoff (0.5 s) with its jitter. */
const BACKOFF = 600;
const RECORDS = Array.from({ length: 40 }, (_, i) => `node-${String(i).padStart(2, '0')}`);

const servers: FakeServer[] = [];
const clients: PuppetDbClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: Handler): Promise<{ server: FakeServer; client: PuppetDbClient }> {
  const server = await fakeServer([handler]);
  const client = new PuppetDbClient(server.url, { timeoutMs: T });
  servers.push(server);
  clients.push(client);
  return { server, client };
}

/** What a server does once its fault has begun: `kill` it, or answer every request with the handler. */
type Fault = 'kill' | Handler;

/**
 * A server that answers its first `healthy` record requests (or commands), then
 * turns faulty for good: every later request, of any kind, meets the fault.
 */
function faultyAfter(healthy: number, fault: Fault, answer: Handler, kill: () => void): Handler {
  let records = 0;
  let faulty = false;
  return (request, body, response) => {
    const isRecord = request.url?.startsWith('/pdb/cmd/v1') || (body.includes('"from","factsets"') && body.includes('"certname","node-'));
    if (isRecord && ++records > healthy) faulty = true;
    if (!faulty) return answer(request, body, response);
    if (fault === 'kill') kill();
    else fault(request, body, response);
  };
}

const remoteAnswer = factsetsRemote(RECORDS, (certname, request, body, response) => json(200, [factset(certname)])(request, body, response));

// [fault, which server, the fault, concurrency, at most (ms)]
const cases: Array<[string, 'remote' | 'local', Fault, number, number]> = [
  ['the remote killed mid-sync (SIGKILL)', 'remote', 'kill', 2, BACKOFF + 2_000],
  ['the remote stops answering mid-response, then answers nothing', 'remote', (q, b, r) => (/"certname","node-/.test(b) ? hangMidBody('[{"certname":"node-')(q, b, r) : silent(q, b, r)), 1, 2 * T + BACKOFF + 2_000],
  ['the remote drips one byte every 300 ms', 'remote', drip(JSON.stringify([factset('node-00')]), 300), 1, 2 * T + BACKOFF + 2_000],
  ['the remote drops every connection mid-response', 'remote', closeMidBody('[{"certname":'), 2, BACKOFF + 2_000],
  ['the local server killed mid-sync', 'local', 'kill', 2, BACKOFF + 2_000],
  ['the local server stops answering commands', 'local', silent, 2, 2 * T + BACKOFF + 2_000],
];

describe('runPass against a server that dies or hangs', () => {
  it.each(cases)('%s: the pass ends within its bound, with one PDBSYNC_ERR_SERVER_DOWN line', async (_name, side, fault, concurrency, atMost) => {
    let kill = () => {};
    const remote = await serve(side === 'remote' ? faultyAfter(3, fault, remoteAnswer, () => kill()) : remoteAnswer);
    const local = await serve(side === 'local' ? faultyAfter(3, fault, emptyLocal, () => kill()) : emptyLocal);
    const down = side === 'remote' ? remote : local;
    kill = () => down.server.kill();
    const { log, lines } = keptLog();
    const settings = { ...summaryContext().settings, requestTimeoutMs: T, concurrency };

    const started = performance.now();
    const result = await runPass({ remote: remote.client, local: local.client, log, settings, ...RECONCILE });
    const ms = performance.now() - started;

    expect(result.ok).toBe(false);
    expect(ms).toBeLessThan(atMost);
    const factsets = result.entities.find((entity) => entity.entity === 'factsets')!;
    // The first three, but for one whose list query met the fault.
    expect(factsets.transferred).toBeGreaterThanOrEqual(2);
    expect(factsets.transferred).toBeLessThanOrEqual(3);
    // Only records already started fail; the rest are left for the next pass.
    expect(factsets.failed).toBeLessThanOrEqual(concurrency + 1);
    // No entity after the one that found the server down.
    expect(result.entities.at(-1)!.entity).toBe('factsets');
    const syncLines = lines.filter((line) => line.phase === 'sync' && line.sync_event === 'error');
    expect(syncLines).toHaveLength(1);
    expect(syncLines[0]!.err).toMatchObject({ code: 'PDBSYNC_ERR_SERVER_DOWN', message: expect.stringContaining(down.server.url) });
    // Every error logged is coded, with no stack.
    for (const line of lines.filter((l) => l.err !== undefined)) {
      expect(line.err).toMatchObject({ type: 'SyncError', code: expect.stringMatching(/^PDBSYNC_ERR_/) });
      expect(line.err).not.toHaveProperty('stack');
    }
    // The bounds above are the test; this only keeps a hung pass from running forever.
  }, 30_000);
});
