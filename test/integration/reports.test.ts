import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { loadConfig } from '../../src/config/load.ts';
import { collectedLog } from '../log-check.ts';
import { syncOnce } from '../../src/sync/once.ts';
import { PassHistory } from '../../src/wiring.ts';
import { besidesProgress, DAY_MS, iso, query, runCli, submit, syncInto, transferredByEntity, transferredWithPrefix, writeConfig, type RunResult } from './pdb.ts';

const [serverA, serverB] = inject('pdbServers') as [string, string];
const prefix = `rp-${Date.now().toString(36)}`;
const base = Date.now() - 3 * 3600_000;
const HOUR_MS = 3600_000;

type Options = { type?: 'agent' | 'plan'; noop?: boolean; status?: string; producer?: string };

/** A store_report v8 payload; `run` makes titles, messages and versions differ between reports. */
function report(name: string, at: number, run: string, { type = 'agent', noop = false, status = 'failed', producer = 'puppet-a.example.net' }: Options = {}) {
  const t = (offsetMs: number) => iso(at - 60_000 + offsetMs);
  const event = (status: string, property: string | null, old_value: unknown, new_value: unknown, message: string | null, timestamp: string) => ({
    status, timestamp, property, old_value, new_value, message, corrective_change: false, name: property && `${property}_changed`,
  });
  const path = (resource: string) => ['Stage[main]', `Profile::${run}`, resource];
  return {
    certname: `${prefix}-${name}`,
    puppet_version: '7.30.0',
    report_format: 12,
    configuration_version: `cv-${run}`,
    start_time: t(0),
    end_time: t(50_000),
    producer_timestamp: iso(at),
    producer,
    corrective_change: false,
    noop,
    noop_pending: noop,
    transaction_uuid: randomUUID(),
    catalog_uuid: randomUUID(),
    code_id: type === 'agent' ? `code-${run}` : null,
    job_id: type === 'plan' ? `job-${run}` : null,
    cached_catalog_status: noop ? 'explicitly_requested' : 'not_used',
    environment: type === 'plan' ? 'staging' : 'production',
    status,
    type,
    metrics: [
      { category: 'resources', name: 'total', value: 4 },
      { category: 'time', name: 'total', value: 12.3456 },
      { category: 'events', name: 'failure', value: 1 },
    ],
    logs: [
      { file: '/etc/puppetlabs/code/site.pp', line: 12, level: 'err', message: `exec failed (${run})`, source: `Exec[run-${run}]`, tags: ['err', 'exec'], time: t(20_000) },
      { file: null, line: null, level: 'notice', message: `Applied catalog ${run}`, source: 'Puppet', tags: ['notice'], time: t(49_000) },
    ],
    resources: [
      // Several events, one of them a few ms later than the others.
      { resource_type: 'File', resource_title: `/etc/motd-${run}`, file: '/etc/puppetlabs/code/site.pp', line: 3, containment_path: path(`File[/etc/motd-${run}]`),
        timestamp: t(10_000), skipped: false, corrective_change: false,
        events: [
          event('success', 'content', '{md5}aaa', '{md5}bbb', `content changed (${run})`, t(10_000)),
          event('success', 'mode', '0600', '0644', "mode changed '0600' to '0644'", t(10_000)),
          event('failure', 'owner', 'root', 'www-data', 'could not change owner', t(10_007)),
        ] },
      { resource_type: 'Service', resource_title: `nginx-${run}`, file: null, line: null, containment_path: path(`Service[nginx-${run}]`),
        timestamp: t(15_000), skipped: false, corrective_change: false,
        events: [event('noop', 'ensure', 'stopped', 'running', 'current_value stopped, should be running (noop)', t(15_000))] },
      { resource_type: 'Exec', resource_title: `run-${run}`, file: '/etc/puppetlabs/code/site.pp', line: 12, containment_path: path(`Exec[run-${run}]`),
        timestamp: t(20_000), skipped: false, corrective_change: false,
        events: [event('failure', 'returns', ['notrun'], ['0'], 'returned 1 instead of one of [0]', t(20_000))] },
      { resource_type: 'Package', resource_title: `curl-${run}`, file: '/etc/puppetlabs/code/site.pp', line: 20, containment_path: path(`Package[curl-${run}]`),
        timestamp: t(25_000), skipped: true, corrective_change: false,
        events: [event('skipped', null, null, null, null, t(25_000))] },
    ],
  };
}

type Report = ReturnType<typeof report>;

const HEADER = ['certname', 'hash', 'type', 'status', 'noop', 'noop_pending', 'cached_catalog_status', 'corrective_change', 'catalog_uuid', 'code_id', 'job_id',
  'producer', 'transaction_uuid', 'environment', 'configuration_version', 'puppet_version', 'report_format', 'start_time', 'end_time', 'producer_timestamp'];

const sortedJson = (items: unknown) => ((items as { data: unknown[] | null }).data ?? []).map((item) => JSON.stringify(item, Object.keys(item as object).sort())).sort();

/** Every report of the prefix by hash, header fields as they are, events, logs and metrics as sorted lists. */
async function reportsOn(url: string, certnamePrefix = prefix): Promise<Record<string, Record<string, unknown>>> {
  const rows = await query(url, ['from', 'reports', ['and', ['=', 'node_state', 'any'], ['null?', 'type', false], ['~', 'certname', `^${certnamePrefix}-`]]]);
  return Object.fromEntries(rows.map((row) => {
    const header = Object.fromEntries(HEADER.map((field) => [field, row[field]]));
    return [row.hash as string, { ...header, events: sortedJson(row.resource_events), logs: sortedJson(row.logs), metrics: sortedJson(row.metrics) }];
  }));
}

async function hashOf(url: string, payload: Report): Promise<string> {
  const rows = await query(url, ['from', 'reports', ['extract', ['hash'], ['and', ['null?', 'type', false], ['=', 'transaction_uuid', payload.transaction_uuid]]]]);
  expect(rows).toHaveLength(1);
  return rows[0]!.hash as string;
}

/** Submits every report, one round per list: a drained queue between two reports of one certname. */
async function load(rounds: Array<Array<[string, Report]>>): Promise<void> {
  for (const round of rounds) {
    await Promise.all(round.map(([url, payload]) => submit(url, 'store_report', 8, payload)));
    await Promise.all([waitForQueueDrained(serverA), waitForQueueDrained(serverB)]);
  }
}

/** The record/finished log lines of reports whose certname starts with `certnamePrefix`. */
const reportRecords = (result: RunResult, certnamePrefix = prefix) =>
  result.logs.filter((line) => line.sync_entity === 'reports' && line.phase === 'record' && line.sync_event === 'finished' && String(line.certname).startsWith(certnamePrefix));

/** An in-process logger at debug level whose JSON lines are collected. */
const debugLines = () => collectedLog('debug');

describe('reports between two real PuppetDBs', () => {
  const onA = [report('both-1', base, 'a1'), report('both-2', base + 60_000, 'a2', { type: 'plan', status: 'changed' }), report('only-a', base + 120_000, 'a3')];
  const onB = [report('both-1', base + 30_000, 'b1', { producer: 'puppet-b.example.net' }), report('both-2', base + 90_000, 'b2', { noop: true, status: 'unchanged' }),
    report('only-b', base + 150_000, 'b3')];
  const secondA = report('only-a', base + HOUR_MS, 'a4', { type: 'plan', status: 'changed' });
  const secondB = report('only-b', base + HOUR_MS, 'b4', { type: 'plan' });
  const shared = report('shared', base + 2 * HOUR_MS, 's1');
  let before: Array<Set<string>>;
  let intoB: RunResult;
  let intoA: RunResult;

  beforeAll(async () => {
    await load([
      [...onA.map((r): [string, Report] => [serverA, r]), ...onB.map((r): [string, Report] => [serverB, r]), [serverA, shared], [serverB, shared]],
      [[serverA, secondA], [serverB, secondB]],
    ]);
    before = [new Set(Object.keys(await reportsOn(serverA))), new Set(Object.keys(await reportsOn(serverB)))];
    expect([before[0]!.size, before[1]!.size]).toEqual([5, 5]);
    expect(await hashOf(serverA, shared)).toBe(await hashOf(serverB, shared));
    intoB = await syncInto(serverB, serverA);
    intoA = await syncInto(serverA, serverB);
  });

  it('exits 0 and transfers exactly the reports each side lacked, each logged with its hash', async () => {
    const sharedHash = await hashOf(serverA, shared);
    const [a, b] = before as [Set<string>, Set<string>];
    for (const [result, missing] of [[intoB, [...a].filter((h) => !b.has(h))], [intoA, [...b].filter((h) => !a.has(h))]] as const) {
      expect(result.code).toBe(0);
      expect(missing).toHaveLength(4);
      expect(transferredWithPrefix(result, prefix)).toEqual({ reports: missing.length });
      const hashes = reportRecords(result).map((line) => line.hash);
      expect(hashes.sort()).toEqual([...missing].sort());
      expect(hashes).not.toContain(sharedHash);
    }
  });

  it('leaves the same reports, headers, events, logs and metrics on both servers', async () => {
    const [a, b] = [await reportsOn(serverA), await reportsOn(serverB)];
    expect(Object.keys(a)).toHaveLength(9);
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const [hash, row] of Object.entries(a)) expect(b[hash], hash).toEqual(row);
    // Every kind of event made the trip (a skipped resource is stored as one skipped event).
    const statuses = new Set(Object.values(b).flatMap((row) => (row.events as string[]).map((e) => JSON.parse(e).status)));
    expect([...statuses].sort()).toEqual(['failure', 'noop', 'skipped', 'success']);
    expect(new Set(Object.values(b).map((row) => row.type))).toEqual(new Set(['agent', 'plan']));
  });

  it('transfers no report on a second pass in either direction', async () => {
    for (const [local, remote] of [[serverB, serverA], [serverA, serverB]] as const) {
      const second = await syncInto(local, remote);
      expect(second.code).toBe(0);
      expect(transferredWithPrefix(second, prefix)).toEqual({});
      expect(transferredByEntity(second).reports).toBe(0);
    }
  });
});

describe('sync.report-ttl', () => {
  const old = report('ttl-old', Date.now() - 20 * DAY_MS, 'ttl');

  beforeAll(() => load([[[serverA, old]]]));

  it('does not pull a report older than the default 14d, pulls it with report-ttl 30d', async () => {
    const hash = await hashOf(serverA, old);
    const byDefault = await syncInto(serverB, serverA);
    expect(byDefault.code).toBe(0);
    expect(transferredWithPrefix(byDefault, `${prefix}-ttl-`)).toEqual({});
    expect(await reportsOn(serverB, `${prefix}-ttl`)).toEqual({});

    const longer = await runCli(['once', '--config', writeConfig(serverB, [serverA], '  report-ttl: 30d\n'), '--log-level', 'debug']);
    expect(besidesProgress(longer.stderr)).toBe('');
    expect(longer.code).toBe(0);
    await waitForQueueDrained(serverB);
    expect(transferredWithPrefix(longer, `${prefix}-ttl-`)).toEqual({ reports: 1 });
    expect(reportRecords(longer, `${prefix}-ttl-`).map((line) => line.hash)).toEqual([hash]);
    const [a, b] = [await reportsOn(serverA, `${prefix}-ttl`), await reportsOn(serverB, `${prefix}-ttl`)];
    expect(Object.keys(b)).toEqual([hash]);
    expect(b).toEqual(a);
  });
});

describe('sync.initial-report-threshold', () => {
  const now = Date.now();
  const firstOld = report('ini-old-1', now - 3 * HOUR_MS, 'i1');
  const firstRecent = report('ini-new-1', now - 10 * 60_000, 'i2');
  const laterOld = report('ini-old-2', now - 3 * HOUR_MS, 'i3');
  const laterRecent = report('ini-new-2', now - 10 * 60_000, 'i4');

  /** One in-process pass into B from A with `history`; the certnames (without prefix) of the reports it pulled. */
  async function passWith(history: PassHistory): Promise<string[]> {
    const config = await loadConfig(writeConfig(serverB, [serverA], '  initial-report-threshold: 1h\n'));
    const { lines, log } = debugLines();
    const results = await syncOnce(config, log, { history });
    expect(results.map((result) => result.ok)).toEqual([true]);
    await waitForQueueDrained(serverB);
    return reportRecords({ code: 0, stderr: '', logs: lines }, `${prefix}-ini-`).map((line) => String(line.certname).slice(prefix.length + 1)).sort();
  }

  beforeAll(() => load([[firstOld, firstRecent].map((r): [string, Report] => [serverA, r])]));

  it('pulls only recent reports on the first pass of a history, the rest on the next one', async () => {
    const history = new PassHistory();
    expect(await passWith(history)).toEqual(['ini-new-1']);
    expect(await passWith(history)).toEqual(['ini-old-1']);
  });

  it('applies the threshold again with a fresh history (a restarted process)', async () => {
    await load([[laterOld, laterRecent].map((r): [string, Report] => [serverA, r])]);
    const restarted = new PassHistory();
    expect(await passWith(restarted)).toEqual(['ini-new-2']);
    expect(await passWith(restarted)).toEqual(['ini-old-2']);
    const [a, b] = [await reportsOn(serverA, `${prefix}-ini`), await reportsOn(serverB, `${prefix}-ini`)];
    expect(Object.keys(b)).toHaveLength(4);
    expect(b).toEqual(a);
  });
});
