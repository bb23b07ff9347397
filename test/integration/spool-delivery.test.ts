import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import type { SpoolConfig } from '../../src/config/types.ts';
import { Delivery } from '../../src/spool/delivery.ts';
import { Journal, type NewCommand } from '../../src/spool/journal.ts';
import { replayJournal } from '../../src/spool/replay.ts';
import { spoolClients } from '../../src/spool/servers.ts';
import type { SettleReason } from '../../src/spool/spool-types.ts';
import { collectedLog } from '../log-check.ts';
import { factset } from './convergence.ts';
import { DAY_MS, eventually, iso, plainReport, query, submit } from './pdb.ts';

const [serverA, serverB] = inject('pdbServers') as [string, string];
const prefix = `spool-${Date.now().toString(36)}`;
const HOUR_MS = 3_600_000;

function spoolConfig(journalDir: string): SpoolConfig {
  return {
    file: join(journalDir, 'spool.conf'),
    spool: {
      servers: [{ serverUrl: serverA }, { serverUrl: serverB }],
      journalDir,
      graceMs: 0,
      maxBytes: 1024 ** 3,
      maxAgeMs: 14 * DAY_MS,
      reportTtlMs: 14 * DAY_MS,
      nodePurgeTtlMs: 14 * DAY_MS,
      requestTimeoutMs: 60_000,
      reportSettleMs: 0,
      concurrency: 2,
      maxCommandBytes: 1024 ** 3,
    },
    http: { host: '127.0.0.1', port: 0, tls: undefined },
    tls: undefined,
    log: { level: 'debug', format: 'pe' },
  };
}

/** As the terminus sends it: the payload JSON, gzip-compressed. */
function journaled(command: string, version: number, payload: { certname: string; producer_timestamp: string }): NewCommand {
  return { command, version, certname: payload.certname, producerTimestamp: payload.producer_timestamp, body: gzipSync(JSON.stringify(payload)), encoding: 'gzip' };
}

const receivedFactset = async (url: string, certname: string) => (await query(url, ['from', 'factsets', ['extract', ['timestamp', 'producer_timestamp'], ['and', ['=', 'certname', certname], ['=', 'node_state', 'any']]]]))[0];
const reportsOf = (url: string, certname: string) => query(url, ['from', 'reports', ['extract', ['transaction_uuid', 'receive_time'], ['and', ['=', 'certname', certname], ['null?', 'type', false], ['=', 'node_state', 'any']]]]);

describe('spool delivery against real PuppetDBs', () => {
  const now = Date.now();
  const names = { onA: `${prefix}-on-a`, nowhere: `${prefix}-nowhere`, reportOnB: `${prefix}-report-on-b`, old: `${prefix}-old`, replayed: `${prefix}-replayed` };
  const facts = { onA: factset(names.onA, now - HOUR_MS, 'web'), nowhere: factset(names.nowhere, now - HOUR_MS, 'db') };
  const report = plainReport(names.reportOnB, now - HOUR_MS, 'r1');
  const oldReport = plainReport(names.old, now - 20 * DAY_MS, 'old');
  const dir = mkdtempSync(join(tmpdir(), 'spool-delivery-'));
  const config = spoolConfig(dir);
  const settled: [string, string, SettleReason][] = [];
  const failures: unknown[] = [];
  const { log } = collectedLog('debug');
  let journal: Journal;
  let before: { onA: Record<string, unknown> | undefined; reportOnB: Record<string, unknown>[] };

  beforeAll(async () => {
    // What the terminus's broadcast got through: the factset to A only, the report to B only.
    await submit(serverA, 'replace_facts', 5, facts.onA);
    await submit(serverB, 'store_report', 8, report);
    await Promise.all([waitForQueueDrained(serverA), waitForQueueDrained(serverB)]);
    before = { onA: await receivedFactset(serverA, names.onA), reportOnB: await reportsOf(serverB, names.reportOnB) };
    expect(before.onA).toBeDefined();
    expect(before.reportOnB).toHaveLength(1);
    journal = Journal.open(dir, [serverA, serverB], { maxBytes: config.spool.maxBytes, maxAgeMs: config.spool.maxAgeMs }, { dropped: () => {} });
    for (const command of [journaled('replace_facts', 5, facts.onA), journaled('replace_facts', 5, facts.nowhere), journaled('store_report', 8, report), journaled('store_report', 8, oldReport)]) {
      await journal.append(command);
    }
  });

  afterAll(() => journal?.close());

  it('delivers exactly what each server lacks, holds what it has, and never sends what expired', async () => {
    const delivery = new Delivery(journal, spoolClients(config, log), config.spool, log, { settled: (server, command, reason) => settled.push([server, command, reason]), failed: (_server, error) => failures.push(error) });
    delivery.start();
    try {
      await eventually(() => settled.length >= 8, 240_000, 'every journaled command settled for both servers');
    } finally {
      await delivery.stop();
    }
    expect(failures).toEqual([]);
    const reasons = (server: string) => settled.filter(([url]) => url === server).map(([, command, reason]) => `${command}:${reason}`).sort();
    expect(reasons(serverA)).toEqual(['replace_facts:delivered', 'replace_facts:held', 'store_report:delivered', 'store_report:expired']);
    expect(reasons(serverB)).toEqual(['replace_facts:delivered', 'replace_facts:delivered', 'store_report:expired', 'store_report:held']);
    expect(journal.stats().pending).toEqual(new Map([[serverA, { commands: 0, oldestReceivedAt: null }], [serverB, { commands: 0, oldestReceivedAt: null }]]));

    await Promise.all([waitForQueueDrained(serverA), waitForQueueDrained(serverB)]);
    for (const url of [serverA, serverB]) {
      expect((await receivedFactset(url, names.onA))?.producer_timestamp).toBe(facts.onA.producer_timestamp);
      expect((await receivedFactset(url, names.nowhere))?.producer_timestamp).toBe(facts.nowhere.producer_timestamp);
      expect((await reportsOf(url, names.reportOnB)).map((row) => row.transaction_uuid)).toEqual([report.transaction_uuid]);
      expect(await reportsOf(url, names.old)).toEqual([]);
    }
    // Held means not sent: A received its factset once, B its report once (their receive times are the broadcast's).
    expect(await receivedFactset(serverA, names.onA)).toEqual(before.onA);
    expect(await reportsOf(serverB, names.reportOnB)).toEqual(before.reportOnB);
  });

  it('replay submits to a server what it lacks, though the journal had it settled', async () => {
    const startedAt = Date.now();
    const lost = factset(names.replayed, now - HOUR_MS / 2, 'cache');
    await journal.append(journaled('replace_facts', 5, lost));
    // As if A had held it and then lost it (restored from an older backup): settled, and absent.
    const [row] = journal.due(serverA, Date.now() + 1, 10);
    expect(row?.certname).toBe(names.replayed);
    journal.settle(row!.id, serverA, 'held');
    const result = await replayJournal(config, log, { serverUrl: serverA, sinceMs: startedAt - 10 * 60_000 });
    expect(result).toEqual({ checked: 5, submitted: 1, held: 3, expired: 1, failed: 0 });
    await waitForQueueDrained(serverA);
    expect((await receivedFactset(serverA, names.replayed))?.producer_timestamp).toBe(lost.producer_timestamp);
    expect(await receivedFactset(serverB, names.replayed)).toBeUndefined();
    const again = await replayJournal(config, log, { serverUrl: serverA, sinceMs: startedAt - 10 * 60_000 });
    expect(again).toMatchObject({ submitted: 0, held: 4, expired: 1 });
  });
});

