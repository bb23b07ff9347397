import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { readSamples } from '../../scripts/samples.ts';
import { iso, runCli, submit, transferredWithPrefix, writeConfig } from './pdb.ts';

const [serverA, serverB] = inject('pdbServers') as [string, string];
const prefix = `lf-${Date.now().toString(36)}`;
const base = Date.now() - 3600_000;

const factset = (suffix: string) => ({
  certname: `${prefix}-${suffix}`,
  environment: 'production',
  producer_timestamp: iso(base),
  producer: 'puppet.example.net',
  values: { role: suffix },
});

/**
 * In front of the real local server: answers the first `failures` command
 * submissions with 503, as a PuppetDB in maintenance does, and passes everything
 * else through. A real PuppetDB cannot be put into maintenance on demand.
 */
async function maintenanceProxy(target: string, failures: number): Promise<{ url: string; refused: () => number; server: Server }> {
  let refused = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      if (request.url?.startsWith('/pdb/cmd/v1') && refused < failures) {
        refused++;
        response.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"maintenance mode"}');
        return;
      }
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      const answer = await fetch(`${target}${request.url}`, {
        method: request.method ?? 'GET',
        headers: { 'content-type': request.headers['content-type'] ?? 'application/json' },
        ...(body && { body }),
      });
      response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await answer.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, refused: () => refused, server };
}

describe('the local PuppetDB under load or in maintenance', () => {
  const proxies: Server[] = [];
  afterAll(() => proxies.forEach((server) => server.close()));

  it('waits out 503s from the local server beyond the usual retries, failing no record', async () => {
    // One record, refused more times than a request is normally tried (4).
    await submit(serverA, 'replace_facts', 5, factset('maint'));
    await waitForQueueDrained(serverA);
    const proxy = await maintenanceProxy(serverB, 5);
    proxies.push(proxy.server);
    const result = await runCli(['once', '--config', writeConfig(proxy.url, [serverA]), '--log-level', 'debug']);
    expect(result.code).toBe(0);
    expect(proxy.refused()).toBe(5);
    expect(transferredWithPrefix(result, prefix)).toEqual({ facts: 1 });
    const factsets = result.logs.find((line) => line.phase === 'entity' && line.sync_event === 'finished' && line.sync_entity === 'facts');
    expect(factsets).toMatchObject({ failed: 0 });
    expect(result.logs.filter((line) => line.phase === 'request' && line.sync_event === 'retry' && line.remote === proxy.url)).toHaveLength(5);
  });

  it('holds transfers back while the local queue is deeper than sync.queue-limit', async () => {
    await Promise.all(['queued-1', 'queued-2', 'queued-3'].map((suffix) => submit(serverA, 'replace_facts', 5, factset(suffix))));
    await waitForQueueDrained(serverA);
    // Large factsets straight into B's queue: PuppetDB applies about a dozen a second.
    const [sample] = readSamples('facts');
    await Promise.all(
      Array.from({ length: 150 }, (_, i) => submit(serverB, 'replace_facts', 5, { ...sample, ...factset(`flood-${i}`), values: sample!.values })),
    );
    const result = await runCli(['once', '--config', writeConfig(serverB, [serverA], '  queue-limit: 2\n'), '--log-level', 'debug']);
    expect(result.code).toBe(0);
    const paused = result.logs.findIndex((line) => String(line.message).startsWith('local command queue above sync.queue-limit'));
    const resumed = result.logs.findIndex((line) => String(line.message).startsWith('local command queue below sync.queue-limit'));
    const firstRecord = result.logs.findIndex((line) => line.phase === 'record' && String(line.certname).startsWith(`${prefix}-queued`));
    expect(paused).toBeGreaterThanOrEqual(0);
    expect(resumed).toBeGreaterThan(paused);
    expect(result.logs[resumed]!.waitedMs).toBeGreaterThan(0);
    expect(firstRecord).toBeGreaterThan(resumed);
    expect(transferredWithPrefix(result, `${prefix}-queued`)).toEqual({ facts: 3 });
    await waitForQueueDrained(serverB);
  });
});
