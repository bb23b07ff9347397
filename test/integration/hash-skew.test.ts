import { beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { readSamples } from '../../scripts/samples.ts';
import { parseConfig } from '../../src/config/load.ts';
import { collectedLog } from '../log-check.ts';
import { runPass } from '../../src/sync/pass.ts';
import { TieMemo } from '../../src/sync/content-tie.ts';
import { MemorySyncState } from '../../src/sync/sync-state.ts';
import { clientFor, ENTITIES, LOCAL_RETRY_POLICY, NODE_PURGE_EXCLUSIONS } from '../../src/wiring.ts';
import { iso, plainReport, query, sql, submit, syncInto, tiesInStepWithPrefix, transferredWithPrefix, warningsOf } from './pdb.ts';
import { NO_REPORT_SETTLE } from './test-settings.ts';

const [serverA, serverB] = inject('pdbServers') as [string, string];
const postgres = inject('pdbPostgres');
const prefix = `skew-${Date.now().toString(36)}`;
const base = Date.now() - 3600_000;
const certname = (entity: string) => `${prefix}-${entity}`;

const factset = {
  certname: certname('facts'),
  environment: 'production',
  producer_timestamp: iso(base),
  producer: 'puppet-a.example.net',
  values: { role: 'web', os: { family: 'Debian' } },
};
const { hash: _hash, ...sample } = readSamples('catalogs')[0]!;
const catalog = { ...sample, certname: certname('catalog'), producer_timestamp: iso(base), job_id: null };
const report = plainReport(certname('report'), base, 'skew');

const HASHED = ['factsets', 'catalogs', 'reports'] as const;

/** The stored hash of each of this test's records, by table. */
async function hashesOn(url: string): Promise<Record<string, string[]>> {
  const mine = ['and', ['=', 'node_state', 'any'], ['~', 'certname', `^${prefix}-`]];
  const rows = await Promise.all([
    query(url, ['from', 'factsets', ['extract', ['hash'], mine]]),
    query(url, ['from', 'catalogs', ['extract', ['hash'], mine]]),
    query(url, ['from', 'reports', ['extract', ['hash'], ['and', mine, ['null?', 'type', false]]]]),
  ]);
  return Object.fromEntries(HASHED.map((table, i) => [table, rows[i]!.map((row) => String(row.hash)).sort()]));
}

/**
 * One incremental pass from the start (no watermark yet: every remote row is a change),
 * which looks each remote row's local counterpart up by key; its log lines.
 */
async function incrementalInto(local: string, remote: string): Promise<{ ok: boolean; logs: Record<string, unknown>[] }> {
  const config = await parseConfig(`local: { server_url: "${local}" }\nsync: { remotes: [ { server_url: "${remote}" } ]\n${NO_REPORT_SETTLE} }\n`, 'hash-skew-test.conf');
  const { log, lines: logs } = collectedLog('debug');
  const [localClient, remoteClient] = [clientFor(local, config, log, { retry: LOCAL_RETRY_POLICY }), clientFor(remote, config, log)];
  const state = new MemorySyncState();
  for (const entity of ENTITIES) state.set(remote, entity.name, { mark: null, reconciledAt: Date.now(), inStep: new Map(), retry: new Map() });
  try {
    const result = await runPass({ remote: remoteClient, local: localClient, log, settings: config.sync, entities: ENTITIES, kind: 'incremental', state, tieMemo: new TieMemo(), exclusions: NODE_PURGE_EXCLUSIONS, firstPass: false });
    return { ok: result.ok, logs };
  } finally {
    await Promise.all([remoteClient.close(), localClient.close()]);
  }
}

describe('two real PuppetDBs that hash the same records differently', () => {
  let before: Record<string, string[]>;

  beforeAll(async () => {
    for (const url of [serverA, serverB]) {
      await Promise.all([submit(url, 'replace_facts', 5, factset), submit(url, 'replace_catalog', 9, catalog), submit(url, 'store_report', 8, report)]);
    }
    await Promise.all([waitForQueueDrained(serverA), waitForQueueDrained(serverB)]);
    if (!postgres) throw new Error("PDBSYNC_TEST_PG is not set: this test writes into the servers' databases");
    // As another PuppetDB version would have hashed them (PDB-5021): the same records, other hashes.
    for (const table of HASHED) {
      await sql(postgres, 1, `UPDATE ${table} SET hash = decode(md5(encode(hash, 'hex')) || '5ee05ee0', 'hex') WHERE certname LIKE '${prefix}-%'`);
    }
    before = await hashesOn(serverB);
    const onA = await hashesOn(serverA);
    for (const table of HASHED) {
      expect(before[table], table).toHaveLength(1);
      expect(before[table], table).not.toEqual(onA[table]);
    }
  });

  it('transfers nothing in three rounds each way: factsets and catalogs are equal by content, reports match by identity, not by hash', async () => {
    for (let round = 1; round <= 3; round++) {
      for (const [local, remote] of [
        [serverB, serverA],
        [serverA, serverB],
      ] as const) {
        const result = await syncInto(local, remote);
        const where = `round ${round} into ${local}`;
        expect(result.code).toBe(0);
        expect(warningsOf(result), where).toEqual([]);
        expect(transferredWithPrefix(result, prefix), where).toEqual({});
        // Each `once` decides afresh: both records read, their content found equal.
        expect(tiesInStepWithPrefix(result, prefix), where).toEqual({ catalogs: ['equal'], facts: ['equal'] });
      }
    }
  });

  it('finds the same records in step in an incremental pass, each way', async () => {
    for (const [local, remote] of [
      [serverB, serverA],
      [serverA, serverB],
    ] as const) {
      const result = await incrementalInto(local, remote);
      expect(result.ok).toBe(true);
      expect(result.logs.some((line) => line.phase === 'entity' && line.sync_entity === 'reports' && line.kind === 'incremental')).toBe(true);
      expect(warningsOf(result), `into ${local}`).toEqual([]);
      expect(transferredWithPrefix(result, prefix), `into ${local}`).toEqual({});
      expect(tiesInStepWithPrefix(result, prefix), `into ${local}`).toEqual({ catalogs: ['equal'], facts: ['equal'] });
    }
  });

  it('leaves each server with its own hashes and one copy of each record', async () => {
    expect(await hashesOn(serverB)).toEqual(before);
  });
});
