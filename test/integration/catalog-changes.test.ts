import { describe, expect, inject, it } from 'vitest';
import { PDB_VERSIONS } from '../../scripts/pdb-runtime.ts';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { parseConfig } from '../../src/config/load.ts';
import { runPass } from '../../src/sync/pass.ts';
import { TieMemo } from '../../src/sync/content-tie.ts';
import { MemorySyncState, type SyncStateStore } from '../../src/sync/sync-state.ts';
import type { EntityResult, PassKind } from '../../src/types.ts';
import { clientFor, ENTITIES, LOCAL_RETRY_POLICY, NODE_PURGE_EXCLUSIONS } from '../../src/wiring.ts';
import { collectedLog } from '../log-check.ts';
import { catalog, load, uniquePrefix } from './convergence.ts';
import { query } from './pdb.ts';
import { NO_REPORT_SETTLE } from './test-settings.ts';

// What an incremental pass finds of catalogs through its one select_nodes subquery on
// catalog_timestamp (src/entities/catalogs.ts), on a pair of servers of each version:
// a new catalog, one relayed with a producer time older than the late-arrival window,
// and an equal-time tie whose content differs (docs/architecture.md, "What the
// catalogs query could miss").
const pairs = inject('pdbVersions');
const versions = PDB_VERSIONS.filter((version) => pairs[version]?.length === 2);
const HOUR_MS = 3600_000;

async function catalogsPass(local: string, remote: string, state: SyncStateStore, kind: PassKind): Promise<{ catalogs: EntityResult; lines: Array<Record<string, unknown>> }> {
  const config = await parseConfig(`local: { server_url: "${local}" }\nsync: { remotes: [ { server_url: "${remote}" } ]\n${NO_REPORT_SETTLE} }\n`, 'catalog-changes.conf');
  const { log, lines } = collectedLog('debug');
  const localClient = clientFor(local, config, log, { retry: LOCAL_RETRY_POLICY });
  const remoteClient = clientFor(remote, config, log);
  try {
    const entities = ENTITIES.filter((entity) => entity.name === 'catalogs');
    const result = await runPass({ remote: remoteClient, local: localClient, log, settings: config.sync, entities, kind, state, tieMemo: new TieMemo(), exclusions: NODE_PURGE_EXCLUSIONS, firstPass: false });
    expect(result.ok, JSON.stringify(result)).toBe(true);
    return { catalogs: result.entities[0]!, lines };
  } finally {
    await Promise.all([remoteClient.close(), localClient.close()]);
  }
}

async function catalogHash(url: string, certname: string): Promise<unknown> {
  const rows = await query(url, ['from', 'catalogs', ['extract', ['hash'], ['and', ['=', 'node_state', 'any'], ['=', 'certname', certname]]]]);
  return rows[0]?.hash;
}

describe.each(versions)('incremental catalogs between two PuppetDB %s servers', (version) => {
  const [serverA, serverB] = pairs[version] as [string, string];
  const prefix = uniquePrefix(`cc-${version.replaceAll('.', '')}`);
  const name = (suffix: string) => `${prefix}-${suffix}`;

  it('pull a new catalog and one relayed with an old producer time, read an equal-time tie, and list nothing else', async () => {
    const [tie, fresh, relayed] = [name('tie'), name('fresh'), name('relayed')];
    const tiedAt = Date.now() - 2 * HOUR_MS;
    await load([serverA, serverB], [[[serverA, 'replace_catalog', 9, catalog(tie, 0, tiedAt)], [serverB, 'replace_catalog', 9, catalog(tie, 0, tiedAt)]]]);
    const state = new MemorySyncState();
    expect((await catalogsPass(serverA, serverB, state, 'reconcile')).catalogs.kind).toBe('reconcile');

    // Received by B after the reconciliation: the tie's other content at the same time,
    // a new catalog, and one produced three hours ago (as a third server relays it).
    await load([serverB], [[[serverB, 'replace_catalog', 9, catalog(tie, 1, tiedAt)], [serverB, 'replace_catalog', 9, catalog(fresh, 1, Date.now())], [serverB, 'replace_catalog', 9, catalog(relayed, 2, Date.now() - 3 * HOUR_MS)]]]);
    await waitForQueueDrained(serverB);
    expect(await catalogHash(serverB, tie)).not.toEqual(await catalogHash(serverA, tie));

    const { catalogs, lines } = await catalogsPass(serverA, serverB, state, 'incremental');
    expect(catalogs).toMatchObject({ kind: 'incremental', failed: 0, skipped: 0 });
    for (const certname of [fresh, relayed]) expect(await catalogHash(serverA, certname)).toEqual(await catalogHash(serverB, certname));
    // The tie is read from both servers and decided by content: taken, or kept as the local winner.
    const records = lines.filter((line) => line.phase === 'record' && line.sync_event === 'finished' && String(line.certname).startsWith(prefix));
    const tieTaken = (await catalogHash(serverA, tie)) === (await catalogHash(serverB, tie));
    expect(records.find((line) => line.certname === tie), JSON.stringify(records)).toMatchObject({ reason: 'tie', ...(!tieTaken && { tie: 'local-wins' }) });
    const moved = records.filter((line) => line.tie === undefined).map((line) => line.certname);
    expect(moved.sort()).toEqual((tieTaken ? [fresh, relayed, tie] : [fresh, relayed]).sort());

    // Nothing new: the rows listed again are those just left in step, and none is looked up.
    const quiet = await catalogsPass(serverA, serverB, state, 'incremental');
    expect(quiet.catalogs).toMatchObject({ kind: 'incremental', transferred: 0, localRows: 0 });
  });
});
