import { afterEach, describe, expect, it } from 'vitest';
import { PuppetDbClient } from '../../../src/puppetdb/client.ts';
import { serializeCommand, type Command } from '../../../src/puppetdb/command.ts';
import { fakeServer, json, type FakeServer, type Handler } from '../fake-server.ts';

let server: FakeServer | undefined;
let client: PuppetDbClient | undefined;

async function fake(handlers: Handler[]): Promise<{ url: string; requests: FakeServer['requests'] }> {
  server = await fakeServer(handlers);
  return server;
}

function makeClient(url: string, timeoutMs = 2000): PuppetDbClient {
  client = new PuppetDbClient(url, { timeoutMs, retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 } });
  return client;
}

const command: Command = { command: 'replace_facts', version: 5, certname: 'a', producerTimestamp: '2026-11-20T10:00:00.000Z', payload: { certname: 'a' } };

async function rows(c: PuppetDbClient): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const row of c.query({ query: ['from', 'factsets'] })) out.push(row);
  return out;
}

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

describe('PuppetDbClient', () => {
  it('posts the query with its options and streams the rows', async () => {
    const { url, requests } = await fake([json(200, [{ certname: 'a' }, { certname: 'b' }])]);
    const c = makeClient(url);
    const out: unknown[] = [];
    for await (const row of c.query({ query: ['from', 'factsets'], options: { include_package_inventory: true } })) out.push(row);
    expect(out).toEqual([{ certname: 'a' }, { certname: 'b' }]);
    expect(requests[0]).toEqual({ url: '/pdb/query/v4', body: '{"include_package_inventory":true,"query":["from","factsets"]}' });
  });

  it('retries a 503 and then succeeds', async () => {
    const { url, requests } = await fake([json(503, { error: 'maintenance' }), json(200, [1])]);
    expect(await rows(makeClient(url))).toEqual([1]);
    expect(requests).toHaveLength(2);
  });

  it('gives up after the policy attempts with PDBSYNC_ERR_HTTP_UNAVAILABLE', async () => {
    const { url, requests } = await fake([json(503, { error: 'maintenance' })]);
    await expect(rows(makeClient(url))).rejects.toThrow(/PDBSYNC_ERR_HTTP_UNAVAILABLE/);
    expect(requests).toHaveLength(3);
  });

  it('does not retry a rejected query', async () => {
    const { url, requests } = await fake([json(400, { error: 'bad query' })]);
    await expect(rows(makeClient(url))).rejects.toThrow(/PDBSYNC_ERR_HTTP_REJECTED.*HTTP 400/);
    expect(requests).toHaveLength(1);
  });

  it('fails a response that stops mid-array', async () => {
    const { url } = await fake([(_q, _b, response) => response.end('[{"certname":"a"},{"cert')]);
    await expect(rows(makeClient(url))).rejects.toThrow(/PDBSYNC_ERR_RESPONSE_MALFORMED/);
  });

  it('times out a server that never answers', async () => {
    const { url } = await fake([() => undefined]);
    await expect(rows(makeClient(url, 200))).rejects.toThrow(/PDBSYNC_ERR_HTTP_TIMEOUT/);
  });

  it('maps a refused connection to PDBSYNC_ERR_HTTP_CONNECT', async () => {
    const { url } = await fake([json(200, [])]);
    await server!.close();
    await expect(rows(makeClient(url))).rejects.toThrow(/PDBSYNC_ERR_HTTP_CONNECT/);
  });

  it('submits a command with its parameters and resolves with its uuid once applied', async () => {
    const { url, requests } = await fake([json(200, { uuid: 'u1', processed: true, timed_out: false })]);
    expect(await makeClient(url).submit(serializeCommand(command), 30)).toBe('u1');
    const sent = new URL(requests[0]!.url, url);
    expect(Object.fromEntries(sent.searchParams)).toEqual({
      command: 'replace_facts',
      version: '5',
      certname: 'a',
      'producer-timestamp': '2026-11-20T10:00:00.000Z',
      secondsToWaitForCompletion: '30',
    });
    expect(requests[0]!.body).toBe('{"certname":"a"}');
  });

  it('does not send again a command the server applied lately for this client, byte for byte, and sends one that differs', async () => {
    const { url, requests } = await fake([json(200, { uuid: 'u1', processed: true, timed_out: false })]);
    const client = makeClient(url);
    const [first, second] = await Promise.all([client.submit(serializeCommand(command), 30), client.submit(serializeCommand(command), 30)]);
    expect([first, second]).toEqual(['u1', 'u1']);
    expect(requests).toHaveLength(1);
    await client.submit(serializeCommand({ ...command, payload: { certname: 'a', changed: true } }), 30);
    expect(requests).toHaveLength(2);
  });

  it('sends again a command the server did not apply', async () => {
    const { url, requests } = await fake([json(503, { uuid: 'u2', processed: false, timed_out: true })]);
    const client = makeClient(url);
    await expect(client.submit(serializeCommand(command), 1)).rejects.toThrow(/PDBSYNC_ERR_COMMAND_UNCONFIRMED/);
    await expect(client.submit(serializeCommand(command), 1)).rejects.toThrow(/PDBSYNC_ERR_COMMAND_UNCONFIRMED/);
    expect(requests).toHaveLength(2);
  });

  // PuppetDB 7.12.1's answers: seen (certnames peer-*), the 413 from its source (docs/operations.md#what-puppetdb-answers-to-a-command).
  const notApplied: Array<[string, number, unknown, RegExp]> = [
    ['the wait ended first (still queued, or refused into the dead-letter office)', 503, { uuid: 'u2', processed: false, timed_out: true }, /PDBSYNC_ERR_COMMAND_UNCONFIRMED.*u2.*not applied within 1 s.*dead-letter office/],
    [
      'processing failed',
      503,
      { uuid: 'u3', processed: true, timed_out: false, error: 'clojure.lang.ExceptionInfo: Unsupported command deactivate node version 4 {:kind :puppetlabs.puppetdb.command/fatal-processing-error}', stack_trace: ['a', 'b'] },
      /PDBSYNC_ERR_COMMAND_FAILED.*u3.*Unsupported command deactivate node version 4/,
    ],
    ['refused before it was queued', 400, { error: 'Command "replace facts" for certname "a" is invalid. Version 3 of command "replace facts" is retired.' }, /PDBSYNC_ERR_HTTP_REJECTED.*HTTP 400.*retired/],
    ['too large', 413, { error: 'Command size exceeds max-command-size' }, /PDBSYNC_ERR_HTTP_REJECTED.*HTTP 413/],
    ['accepted without waiting (no processed field)', 200, { uuid: 'u4' }, /PDBSYNC_ERR_COMMAND_UNCONFIRMED.*u4/],
  ];
  it.each(notApplied)('fails a command PuppetDB did not apply, submitted once: %s', async (_name, status, answer, error) => {
    const { url, requests } = await fake([json(status, answer)]);
    await expect(makeClient(url).submit(serializeCommand(command), 1)).rejects.toThrow(error);
    expect(requests).toHaveLength(1);
  });

  it('reads the queue depth', async () => {
    const { url } = await fake([json(200, { status: { queue_depth: 7 } })]);
    expect(await makeClient(url).queueDepth()).toBe(7);
  });

  it.each([['not JSON', '<html>'], ['no queue_depth', '{"status":{}}'], ['null', 'null']])('fails a status that is %s with a coded error', async (_name, text) => {
    const { url } = await fake([(_q, _b, response) => response.writeHead(200).end(text)]);
    await expect(makeClient(url).queueDepth()).rejects.toMatchObject({ code: 'PDBSYNC_ERR_RESPONSE_MALFORMED' });
  });
});
