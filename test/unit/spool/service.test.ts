import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';

import { parseSpoolConfig } from '../../../src/config/load-spool.ts';
import { Journal } from '../../../src/spool/journal.ts';
import { promtool } from '../service/promtool.ts';
import { SpoolService, type SpoolDelivery } from '../../../src/spool/spool-service.ts';
import type { DeliveryObserver, JournalAccess } from '../../../src/spool/spool-types.ts';

const FACTS = { certname: 'web1.example.net', producer_timestamp: '2026-12-05T07:00:00.000Z', environment: 'production', producer: 'puppet', values: {} };
const URL_PATH = '/pdb/cmd/v1?command=replace_facts&version=5&certname=web1.example.net';
const SERVERS = ['http://127.0.0.1:18080', 'http://127.0.0.1:18081'];

/** Records what the service asks of the delivery, in order. */
class FakeDelivery implements SpoolDelivery {
  readonly calls: string[] = [];
  journal: JournalAccess | undefined;
  observer: DeliveryObserver | undefined;
  start(): void {
    this.calls.push('start');
  }
  async stop(): Promise<void> {
    this.calls.push('stop');
  }
  useTls(): void {
    this.calls.push('useTls');
  }
}

let dir: string;
let service: SpoolService | undefined;
let delivery: FakeDelivery;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pdbsync-spool-service-'));
  delivery = new FakeDelivery();
});
afterEach(async () => {
  await service?.stop();
  service = undefined;
  rmSync(dir, { recursive: true, force: true });
});

async function startService(): Promise<SpoolService> {
  const config = await parseSpoolConfig(`spool { servers = ${JSON.stringify(SERVERS)}, journal-dir = "${dir}" }\nhttp { port = 1 }\n`, join(dir, 'spool.conf'));
  service = await SpoolService.start({ ...config, http: { ...config.http, port: 0 } }, pino({ level: 'silent' }), {
    processMetrics: false,
    delivery: (journal, observer) => {
      delivery.journal = journal;
      delivery.observer = observer;
      return delivery;
    },
  });
  return service;
}

const post = (address: string, body: unknown) => fetch(`${address}${URL_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });

describe('SpoolService', () => {
  it('journals a command durably before its 200, and the delivery sees it pending for every server', async () => {
    const { address } = await startService();
    const response = await post(address, FACTS);
    expect(response.status).toBe(200);
    const { uuid } = (await response.json()) as { uuid: string };
    expect(delivery.calls).toEqual(['start']);
    const due = delivery.journal!.due(SERVERS[0]!, Date.now() + 1000, 10);
    expect(due.map((command) => [command.uuid, command.certname, command.command])).toEqual([[uuid, 'web1.example.net', 'replace_facts']]);
    // The same bytes again: the first uuid, nothing journaled twice.
    expect(((await (await post(address, FACTS)).json()) as { uuid: string }).uuid).toBe(uuid);
  });

  it('stops listening, then stops the delivery, then closes the journal so another process can open it', async () => {
    const { address } = await startService();
    await post(address, FACTS);
    await service!.stop();
    expect(delivery.calls).toEqual(['start', 'stop']);
    await expect(fetch(`${address}/health`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
    // Exclusive locking: this would fail while the service still held the journal.
    const reopened = Journal.open(dir, SERVERS, { maxBytes: 1 << 30, maxAgeMs: 86_400_000 }, { dropped: () => {} });
    expect(reopened.stats().commands).toBe(1);
    reopened.close();
  });

  it('serves /health and every spool metric by its fixed name, gauges read from the journal', async () => {
    const { address } = await startService();
    await post(address, FACTS);
    delivery.observer!.settled(SERVERS[0]!, 'replace_facts', 'delivered');
    delivery.observer!.failed(SERVERS[1]!, new Error('down'));
    expect(await (await fetch(`${address}/health`)).json()).toEqual({ status: 'ok' });
    const text = await (await fetch(`${address}/metrics`)).text();
    for (const name of [
      'pdbsync_spool_received_total{command="replace_facts"} 1',
      'pdbsync_spool_journal_commands 1',
      'pdbsync_spool_journal_max_bytes 10737418240',
      `pdbsync_spool_pending_commands{server="${SERVERS[0]}"} 1`,
      `pdbsync_spool_settled_total{server="${SERVERS[0]}",reason="delivered"} 1`,
      `pdbsync_spool_delivery_failures_total{server="${SERVERS[1]}"} 1`,
      'pdbsync_spool_dropped_total{reason="max-age"} 0',
      'pdbsync_spool_unavailable_total{reason="full"} 0',
      'pdbsync_spool_journal_seconds_count 1',
    ]) expect(text).toContain(name);
    expect(text).toMatch(/^pdbsync_spool_journal_bytes [1-9]\d*$/m);
    expect(text).toMatch(/^pdbsync_spool_journal_oldest_seconds \d/m);
    expect(text).toMatch(/^pdbsync_spool_oldest_pending_seconds\{server="http:\/\/127.0.0.1:18081"\} \d/m);
  });

  it('serves metrics promtool finds nothing to say of, every family fed', async () => {
    const { address } = await startService();
    await post(address, FACTS);
    await fetch(`${address}/pdb/cmd/v1?command=replace_facts&version=3&certname=x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    delivery.observer!.settled(SERVERS[0]!, 'replace_facts', 'held');
    delivery.observer!.failed(SERVERS[1]!, new Error('down'));
    const text = await (await fetch(`${address}/metrics`)).text();
    expect(text).toContain('pdbsync_spool_refused_total{reason="retired-version"} 1');
    const checked = promtool(['check', 'metrics'], { input: text });
    expect(checked.output.trim()).toBe('');
    expect(checked.status).toBe(0);
  });

  it('SIGHUP\'s reload hands the servers\' TLS to the delivery', async () => {
    await startService();
    const config = await parseSpoolConfig(`spool { servers = ${JSON.stringify(SERVERS)} }\n`, join(dir, 'spool.conf'));
    service!.reloadTls(config);
    expect(delivery.calls).toEqual(['start', 'useTls']);
  });

  it('names http.host and http.port when it cannot listen, and leaves the journal closed', async () => {
    const first = await startService();
    const port = Number(new URL(first.address).port);
    const config = await parseSpoolConfig(`spool { servers = ${JSON.stringify(SERVERS)}, journal-dir = "${join(dir, 'second')}" }\nhttp { port = ${port} }\n`, join(dir, 'spool.conf'));
    await expect(SpoolService.start(config, pino({ level: 'silent' }), { processMetrics: false, delivery: () => new FakeDelivery() })).rejects.toThrow(`PDBSYNC_ERR_CONFIG_HTTP_LISTEN`);
    const reopened = Journal.open(join(dir, 'second'), SERVERS, { maxBytes: 1 << 30, maxAgeMs: 86_400_000 }, { dropped: () => {} });
    reopened.close();
  });
});
