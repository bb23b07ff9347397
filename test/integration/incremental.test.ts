import { describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import { collectedLog } from '../log-check.ts';
import { runPass } from '../../src/sync/pass.ts';
import { TieMemo } from '../../src/sync/content-tie.ts';
import { MemorySyncState, type SyncStateStore } from '../../src/sync/sync-state.ts';
import type { EntityResult, PassKind, PassResult } from '../../src/types.ts';
import { clientFor, ENTITIES, LOCAL_RETRY_POLICY, NODE_PURGE_EXCLUSIONS } from '../../src/wiring.ts';
import { iso, plainReport, query, runCli, sql, submit, writeConfig } from './pdb.ts';
import { NO_REPORT_SETTLE } from './test-settings.ts';

const [serverA, serverB, serverC] = inject('pdbServers') as [string, string, string];
const postgres = inject('pdbPostgres');
const prefix = `inc-${Date.now().toString(36)}`;
const HOUR_MS = 3600_000;

function factset(certname: string, at: number, role: string) {
  return { certname, environment: 'production', producer_timestamp: iso(at), producer: 'puppet.example.net', values: { role, n: 1 } };
}

async function configPulling(local: string, remote: string, extra = ''): Promise<Config> {
  return parseConfig(`local: { server_url: "${local}" }\nsync: { remotes: [ { server_url: "${remote}" } ]\n${NO_REPORT_SETTLE}${extra} }\n`, 'incremental-test.conf');
}

/** One pass of `kind` from `remote` into `local`, with the sync state given (kept across passes as `run` keeps it). */
async function pass(config: Config, state: SyncStateStore, kind: PassKind): Promise<PassResult> {
  const { log } = collectedLog('warn');
  const local = clientFor(config.local.serverUrl, config, log, { retry: LOCAL_RETRY_POLICY });
  const remote = clientFor(config.sync.remotes[0]!.serverUrl, config, log);
  try {
    return await runPass({ remote, local, log, settings: config.sync, entities: ENTITIES, kind, state, tieMemo: new TieMemo(), exclusions: NODE_PURGE_EXCLUSIONS, firstPass: false });
  } finally {
    await Promise.all([remote.close(), local.close()]);
  }
}

function entity(result: PassResult, name: string): EntityResult {
  const found = result.entities.find((e) => e.entity === name);
  if (!found) throw new Error(`no ${name} in ${JSON.stringify(result)}`);
  return found;
}

async function reportHashes(url: string, certname: string): Promise<string[]> {
  const rows = await query(url, ['from', 'reports', ['extract', ['hash'], ['and', ['=', 'node_state', 'any'], ['=', 'certname', certname]]]]);
  return rows.map((row) => String(row.hash)).sort();
}

describe('incremental passes', () => {
  it('pull a write made on the remote after the last pass, reading none of the unchanged history', async () => {
    const history = Array.from({ length: 20 }, (_, i) => `${prefix}-history-${i}`);
    const base = Date.now() - 2 * HOUR_MS;
    for (const [i, certname] of history.entries()) {
      await submit(serverB, 'replace_facts', 5, factset(certname, base + i, 'web'));
      await submit(serverB, 'store_report', 8, plainReport(certname, base + i * 60_000, `h${i}`));
    }
    await waitForQueueDrained(serverB);
    // Overlap 0: only the newest row of the history is read again (its receive time is the watermark).
    const config = await configPulling(serverA, serverB, 'watermark-overlap: 0s');
    const state = new MemorySyncState();
    const reconciled = await pass(config, state, 'reconcile');
    expect(reconciled.ok, JSON.stringify(reconciled)).toBe(true);
    expect(entity(reconciled, 'factsets').remoteRows).toBeGreaterThanOrEqual(history.length);

    const fresh = `${prefix}-fresh`;
    await submit(serverB, 'replace_facts', 5, factset(fresh, Date.now(), 'db'));
    await submit(serverB, 'store_report', 8, plainReport(fresh, Date.now(), 'fresh'));
    await waitForQueueDrained(serverB);
    const incremental = await pass(config, state, 'incremental');
    expect(incremental.ok, JSON.stringify(incremental)).toBe(true);
    for (const name of ['factsets', 'reports']) {
      expect(entity(incremental, name)).toMatchObject({ kind: 'incremental', transferred: 1, failed: 0 });
      // The new row and at most the history's newest, of the 20 rows in the history.
      expect(entity(incremental, name).remoteRows).toBeLessThanOrEqual(2);
      expect(entity(incremental, name).localRows).toBeLessThanOrEqual(2);
    }
    expect(await query(serverA, ['from', 'factsets', ['=', 'certname', fresh]])).toHaveLength(1);
    expect(await reportHashes(serverA, fresh)).toEqual(await reportHashes(serverB, fresh));

    // Nothing new: the rows read again are those the last pass left in step, and need no local lookup.
    const quiet = await pass(config, state, 'incremental');
    expect(quiet.entities.every((e) => e.kind === 'incremental' && e.transferred === 0 && e.localRows === 0), JSON.stringify(quiet)).toBe(true);
  });

  it('see a record that reaches the remote late with an old producer_timestamp (relayed from a third server)', async () => {
    const config = await configPulling(serverA, serverB);
    const state = new MemorySyncState();
    expect((await pass(config, state, 'reconcile')).ok).toBe(true);

    const relayed = `${prefix}-relayed`;
    const producedAt = Date.now() - 30 * 60_000;
    await submit(serverC, 'replace_facts', 5, factset(relayed, producedAt, 'relayed'));
    await submit(serverC, 'store_report', 8, plainReport(relayed, producedAt, 'relayed'));
    await waitForQueueDrained(serverC);
    const relay = await runCli(['once', '--config', writeConfig(serverB, [serverC])]);
    expect(relay.code).toBe(0);

    // The relay also brought B whatever else C had: at least the two records are pulled.
    const incremental = await pass(config, state, 'incremental');
    expect(entity(incremental, 'factsets')).toMatchObject({ kind: 'incremental', transferred: expect.any(Number) });
    expect(entity(incremental, 'factsets').transferred).toBeGreaterThanOrEqual(1);
    expect(entity(incremental, 'reports').kind).toBe('incremental');
    expect(await query(serverA, ['from', 'factsets', ['=', 'certname', relayed]])).toHaveLength(1);
    expect(await reportHashes(serverA, relayed)).toEqual(await reportHashes(serverC, relayed));
    expect(await reportHashes(serverA, relayed)).toHaveLength(1);
  });
});

describe('reconciliation', () => {
  it('finds reports each server lacks although per-hour and per-node counts and first and last times are equal', async () => {
    if (!postgres) throw new Error('PDBSYNC_TEST_PG is not set: this test writes into the servers\' databases');
    const certname = `${prefix}-split`;
    const hour = Math.floor((Date.now() - 5 * HOUR_MS) / HOUR_MS) * HOUR_MS;
    // The same payloads on both (a report's hash covers its transaction_uuid).
    const common = [plainReport(certname, hour + 5 * 60_000, 'first'), plainReport(certname, hour + 50 * 60_000, 'last')];
    for (const server of [serverA, serverB]) for (const payload of common) await submit(server, 'store_report', 8, payload);
    await submit(serverA, 'store_report', 8, plainReport(certname, hour + 20 * 60_000, 'only-a'));
    await submit(serverB, 'store_report', 8, plainReport(certname, hour + 25 * 60_000, 'only-b'));
    await Promise.all([waitForQueueDrained(serverA), waitForQueueDrained(serverB)]);
    // As a split brain healed long ago leaves them: received days ago, out of any watermark's reach.
    for (const index of [0, 1]) await sql(postgres, index, `UPDATE reports SET receive_time = receive_time - interval '3 days' WHERE certname = '${certname}'`);

    const aggregate = ['from', 'reports', ['extract', [['function', 'count'], ['function', 'min', 'producer_timestamp'], ['function', 'max', 'producer_timestamp']], ['=', 'certname', certname]]];
    expect(await query(serverA, aggregate)).toEqual(await query(serverB, aggregate));
    expect(await reportHashes(serverA, certname)).not.toEqual(await reportHashes(serverB, certname));

    expect((await runCli(['once', '--config', writeConfig(serverA, [serverB])])).code).toBe(0);
    expect((await runCli(['once', '--config', writeConfig(serverB, [serverA])])).code).toBe(0);
    await Promise.all([waitForQueueDrained(serverA), waitForQueueDrained(serverB)]);
    expect(await reportHashes(serverA, certname)).toHaveLength(4);
    expect(await reportHashes(serverB, certname)).toEqual(await reportHashes(serverA, certname));
  });
});
