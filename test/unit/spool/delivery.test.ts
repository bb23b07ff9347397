import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SpoolSettings } from '../../../src/config/types.ts';
import { SyncError } from '../../../src/errors.ts';
import type { PuppetDbClient, QuerySpec } from '../../../src/puppetdb/client.ts';
import type { SerializedCommand } from '../../../src/puppetdb/command.ts';
import { CircuitBreaker } from '../../../src/puppetdb/retry.ts';
import { Delivery } from '../../../src/spool/delivery.ts';
import { Journal } from '../../../src/spool/journal.ts';
import type { SettleReason } from '../../../src/spool/spool-types.ts';
import { collectedLog } from '../../log-check.ts';

const A = 'http://a.example.net:8080';
const B = 'http://b.example.net:8080';
const AT = new Date(Date.now() - 3_600_000).toISOString();
const DAY = 86_400_000;

const SETTINGS: SpoolSettings = {
  servers: [{ serverUrl: A }, { serverUrl: B }],
  journalDir: '',
  graceMs: 0,
  maxBytes: 1e9,
  maxAgeMs: 14 * DAY,
  reportTtlMs: 14 * DAY,
  nodePurgeTtlMs: 14 * DAY,
  requestTimeoutMs: 10_000,
  reportSettleMs: 0,
  concurrency: 2,
  maxCommandBytes: 1e9,
};

/** A PuppetDB as the delivery sees it: the factsets it holds, and what its submissions do. */
class FakeServer {
  readonly url: string;
  readonly breaker: CircuitBreaker;
  readonly submitted: string[] = [];
  factsets: Record<string, unknown>[] = [];
  down = false;
  submitError: SyncError | undefined;

  constructor(url: string) {
    this.url = url;
    this.breaker = new CircuitBreaker(url);
  }

  async *query(spec: QuerySpec): AsyncGenerator<unknown> {
    if (this.down) throw new SyncError('PDBSYNC_ERR_HTTP_CONNECT', `${this.url} refused the connection`);
    const entity = (spec.query as unknown[])[1];
    if (entity === 'factsets') yield* this.factsets;
  }

  async submit(command: SerializedCommand): Promise<string> {
    if (this.submitError) throw this.submitError;
    this.submitted.push(command.certname);
    return 'uuid';
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function deliver(servers: FakeServer[], certnames: string[], until: (settled: [string, SettleReason][], failed: string[]) => boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'spool-delivery-'));
  dirs.push(dir);
  const journal = Journal.open(dir, servers.map((server) => server.url), { maxBytes: 1e9, maxAgeMs: 14 * DAY }, { dropped: () => {} });
  for (const certname of certnames) {
    const payload = { certname, environment: 'production', producer_timestamp: AT, producer: 'p', values: {} };
    await journal.append({ command: 'replace_facts', version: 5, certname, producerTimestamp: AT, body: Buffer.from(JSON.stringify(payload)), encoding: 'identity' });
  }
  const settled: [string, SettleReason][] = [];
  const failed: string[] = [];
  const { log } = collectedLog('debug');
  const delivery = new Delivery(journal, servers as unknown as PuppetDbClient[], SETTINGS, log, { settled: (server, _command, reason) => settled.push([server, reason]), failed: (server) => failed.push(server) });
  delivery.start();
  const deadline = Date.now() + 10_000;
  while (!until(settled, failed) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  await delivery.stop();
  const stats = journal.stats();
  journal.close();
  return { settled, failed, stats };
}

describe('Delivery', () => {
  it('submits what a server lacks and holds what it has, each server on its own', async () => {
    const [a, b] = [new FakeServer(A), new FakeServer(B)];
    a.factsets = [{ certname: 'n1', hash: 'h', producer_timestamp: AT, producer: 'p' }];
    const { settled, stats } = await deliver([a, b], ['n1', 'n2'], (s) => s.length >= 4);
    expect(a.submitted).toEqual(['n2']);
    expect(b.submitted.sort()).toEqual(['n1', 'n2']);
    expect(settled.filter(([server]) => server === A).map(([, reason]) => reason).sort()).toEqual(['delivered', 'held']);
    expect(stats.pending.get(A)!.commands + stats.pending.get(B)!.commands).toBe(0);
  });

  it('keeps delivering to one server while the other is down, whose commands stay pending', async () => {
    const [a, b] = [new FakeServer(A), new FakeServer(B)];
    a.down = true;
    const { settled, failed, stats } = await deliver([a, b], ['n1', 'n2'], (s, f) => s.length >= 2 && f.length >= 1);
    expect(b.submitted.sort()).toEqual(['n1', 'n2']);
    expect(settled.every(([server]) => server === B)).toBe(true);
    expect(failed).toContain(A);
    expect(stats.pending.get(A)!.commands).toBe(2);
  });

  it('keeps a command PuppetDB fails to apply pending, counted as a failure of that server', async () => {
    const [a] = [new FakeServer(A)];
    a.submitError = new SyncError('PDBSYNC_ERR_COMMAND_FAILED', 'replace_facts for n1: boom');
    const { settled, failed, stats } = await deliver([a], ['n1'], (_s, f) => f.length >= 1);
    expect(settled).toEqual([]);
    expect(failed).toEqual([A]);
    expect(stats.pending.get(A)!.commands).toBe(1);
  });
});
