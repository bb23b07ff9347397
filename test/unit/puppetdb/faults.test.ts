import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { SyncError, type ErrorCode } from '../../../src/errors.ts';
import { PuppetDbClient } from '../../../src/puppetdb/client.ts';
import { serializeCommand } from '../../../src/puppetdb/command.ts';
import { closeMidBody, drip, fakeServer, hangMidBody, json, silent, type FakeServer, type Handler } from '../fake-server.ts';

/** sync.request-timeout of these tests; every bound below is a multiple of it, with generous margins for a loaded machine. */
const T = 500;
const RETRY = { attempts: 4, initialDelayMs: 100, maxDelayMs: 1_000 };

let server: FakeServer | undefined;
let client: PuppetDbClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

async function clientOf(handlers: Handler[]): Promise<PuppetDbClient> {
  server = await fakeServer(handlers);
  client = new PuppetDbClient(server.url, { timeoutMs: T, retry: RETRY });
  return client;
}

const rows = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ certname: `node-${i}`, hash: 'h'.repeat(40) })));
const command = serializeCommand({ command: 'replace_facts', version: 5, certname: 'a', producerTimestamp: '2026-11-20T10:00:00.000Z', payload: { certname: 'a' } });

type Call = (c: PuppetDbClient) => Promise<unknown>;
const readAll = async (rows: AsyncIterable<unknown>) => {
  for await (const _ of rows);
};
const summary: Call = (c) => readAll(c.query({ query: ['from', 'factsets'] }));
const record: Call = (c) => readAll(c.queryRecord({ query: ['from', 'catalogs'] }, 64 * 1024 * 1024));
const submit: Call = (c) => c.submit(command, 1);

async function failure(call: Promise<unknown>): Promise<{ error: SyncError; ms: number }> {
  const started = performance.now();
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  const ms = performance.now() - started;
  expect(error).toBeInstanceOf(SyncError);
  return { error: error as SyncError, ms };
}

describe('every request has a deadline, and every fault is a coded error', () => {
  // [fault, how the server answers, what is asked, the code, requests sent, at least, at most (ms)]
  const cases: Array<[string, Handler[], Call, ErrorCode, number, number, number]> = [
    ['a summary dripped one byte every 100 ms (100 s in all)', [drip(rows(20), 100)], summary, 'PDBSYNC_ERR_HTTP_TIMEOUT', 1, T, 3 * T + 1_000],
    ['a record dripped one byte every 100 ms', [drip(rows(1), 100)], record, 'PDBSYNC_ERR_HTTP_TIMEOUT', 1, T - 50, 2 * T + 1_000],
    ['a record sent steadily but larger than the deadline allows', [drip(rows(20_000), 50, 16_384)], record, 'PDBSYNC_ERR_HTTP_DEADLINE', 1, T - 50, 2 * T + 1_000],
    ['a summary that stops mid-body', [hangMidBody('[{"certname":"a"},')], summary, 'PDBSYNC_ERR_HTTP_TIMEOUT', 1, T - 50, 2 * T + 1_000],
    ['a record that stops mid-body', [hangMidBody('[{"certname":"a",')], record, 'PDBSYNC_ERR_HTTP_TIMEOUT', 1, T - 50, 2 * T + 1_000],
    ['a connection dropped mid-body', [closeMidBody('[{"certname":"a"},')], summary, 'PDBSYNC_ERR_HTTP_CONNECT', 1, 0, 1_000],
    ['a command answer that never comes', [silent], submit, 'PDBSYNC_ERR_HTTP_TIMEOUT', 2, 2 * T, 4 * T + 1_000],
    ['a summary whose headers never come', [silent], summary, 'PDBSYNC_ERR_HTTP_TIMEOUT', 2, 2 * T, 4 * T + 1_000],
  ];
  it.each(cases)('%s', async (_fault, handlers, call, code, requests, atLeast, atMost) => {
    const c = await clientOf(handlers);
    const { error, ms } = await failure(call(c));
    expect(error.code).toBe(code);
    expect(server!.requests).toHaveLength(requests);
    expect(ms).toBeGreaterThanOrEqual(atLeast);
    expect(ms).toBeLessThan(atMost);
  }, 15_000);
});

describe('the circuit breaker', () => {
  it('takes a server that does not answer twice in a row as down: no further request is sent until reset', async () => {
    const c = await clientOf([silent, silent, json(200, [])]);
    const first = await failure(summary(c));
    expect(first.error.code).toBe('PDBSYNC_ERR_HTTP_TIMEOUT');
    expect(c.breaker.open).toBe(true);

    const next = await failure(record(c));
    expect(next.error.code).toBe('PDBSYNC_ERR_SERVER_DOWN');
    expect(next.error.message).toContain('did not answer 2 attempts in a row');
    expect(next.ms).toBeLessThan(50);
    expect(server!.requests).toHaveLength(2);

    c.breaker.reset();
    await summary(c);
    expect(server!.requests).toHaveLength(3);
  });

  it('fails a killed server after two refused connections and one backoff, and aborts the requests in flight', async () => {
    const c = await clientOf([hangMidBody('[')]);
    const inFlight = failure(summary(c));
    await new Promise((resolve) => setTimeout(resolve, 50));
    server!.kill();
    const killed = await failure(record(c));
    expect(killed.error.code).toBe('PDBSYNC_ERR_HTTP_CONNECT');
    expect(killed.ms).toBeLessThan(1_000);
    const aborted = await inFlight;
    expect(['PDBSYNC_ERR_HTTP_CONNECT', 'PDBSYNC_ERR_SERVER_DOWN']).toContain(aborted.error.code);
    expect(aborted.ms).toBeLessThan(1_000);
  });

  it('counts a whole response, whatever its status, as the server answering', async () => {
    const c = await clientOf([silent, json(500, { error: 'boom' }), silent, json(200, [])]);
    // Not answering, a 500 read whole (the count starts again), not answering, then the rows.
    await summary(c);
    expect(server!.requests).toHaveLength(4);
    expect(c.breaker.open).toBe(false);
  });
});
