// `puppetdb-sync seed` on real servers: the first bulk server (PuppetDB 8.8.1, database
// puppetdb1) is the peer, read by a role of this test that may only read; the local
// PuppetDB is one of the test's own on a database of its own, stopped while it is
// seeded, then started on the copy. The first pass after it must move only what the
// peer received after the snapshot.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { prepareServer, type SingleServer } from '../../scripts/cluster-server.ts';
import { catalog, factset, load, uniquePrefix, type Command } from './convergence.ts';
import { expectQuietBothWays, plainReport, psqlAdmin, runCli, transferredByEntity, transferredWithPrefix, writeConfig, type RunResult } from './pdb.ts';

const prefix = uniquePrefix('seed');
const tag = prefix.replace(/-/g, '_');
const reader = { role: `${tag}_reader`, password: `reader:${tag}\\pw` };
const localDb = { database: `${tag}_local`, role: `${tag}_local`, password: `local-${tag}` };
/** The host's Debian package: PuppetDB 7.12.1, whose newest schema (80) is older than 8.8.1's (88). */
const PUPPETDB_7_JAR = '/usr/share/puppetdb/puppetdb.jar';

let peer: string;
let pg: { socketDir: string; port: number };
let local: SingleServer;
let configFile: (jar: string) => string;

const psql = (database: string, ...statements: string[]) => psqlAdmin(pg, database, ...statements);

const quoted = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** Three nodes with a factset, a catalog and a report each, written on the peer at `at`. */
function records(nodes: string[], at: number, run: string): Command[][] {
  return [
    nodes.map((certname): Command => [peer, 'replace_facts', 5, factset(certname, at, run)]),
    nodes.map((certname, i): Command => [peer, 'replace_catalog', 9, catalog(certname, i, at)]),
    nodes.map((certname): Command => [peer, 'store_report', 8, plainReport(certname, at, run)]),
  ];
}

/** The one line a refusal prints, and its exit status. */
function expectRefusal(result: RunResult, code: string, detail: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(new RegExp(`^puppetdb-sync: ${code}: [^\\n]+\\n$`));
  expect(result.stderr).toMatch(detail);
}

beforeAll(async () => {
  const postgres = inject('pdbPostgres');
  if (postgres === null) throw new Error('seed.test.ts needs the servers\' PostgreSQL (PDBSYNC_TEST_PG)');
  pg = postgres;
  peer = inject('pdbServers')[0]!;
  expect(await (await fetch(`${peer}/pdb/meta/v1/version`)).json()).toEqual({ version: '8.8.1' });
  await psql('postgres',
    `CREATE ROLE ${reader.role} LOGIN PASSWORD ${quoted(reader.password)}`, `GRANT pg_read_all_data TO ${reader.role}`,
    `CREATE ROLE ${localDb.role} LOGIN PASSWORD ${quoted(localDb.password)}`, `CREATE DATABASE ${localDb.database} OWNER ${localDb.role} TEMPLATE template0`);
  // As PuppetDB's installation does, as the superuser.
  await psql(localDb.database, 'CREATE EXTENSION pg_trgm', 'CREATE EXTENSION pgcrypto');
  local = await prepareServer({ version: '8.8.1', pgPort: pg.port, ...localDb });
  const dir = mkdtempSync(join(tmpdir(), 'pdbsync-seed-'));
  writeFileSync(join(dir, 'peer.password'), `${reader.password}\n`);
  configFile = (jar: string) => {
    const file = join(dir, `seed-${jar.length}.conf`);
    // local.server_url and the local database come from the server's own conf.d.
    writeFileSync(file, [
      `puppetdb: { conf-dir: "${local.confDir}" }`,
      `sync: { remotes: [ { server_url: "${peer}" } ], report-settle: 0s }`,
      `seed: {`,
      `  peer: { subname: "//127.0.0.1:${pg.port}/puppetdb1", username: ${reader.role}, password-file: peer.password }`,
      `  puppetdb-jar: "${jar}"`,
      `}`,
      '',
    ].join('\n'));
    return file;
  };
  await load([peer], records([0, 1, 2].map((i) => `${prefix}-early-${i}`), Date.now() - 3_600_000, 'early'));
});

afterAll(async () => {
  await local?.remove();
  await psql('postgres', `DROP DATABASE IF EXISTS ${localDb.database}`, `DROP ROLE IF EXISTS ${localDb.role}`, `DROP ROLE IF EXISTS ${reader.role}`);
});

describe('puppetdb-sync seed', () => {
  it('refuses a local PuppetDB 7.12.1, whose newest schema is older than the peer\'s 8.8.1', async () => {
    const result = await runCli(['seed', '--config', configFile(PUPPETDB_7_JAR)]);
    expectRefusal(result, 'PDBSYNC_ERR_SEED_SCHEMA_NEWER', /the peer's schema is 88, and PuppetDB 7\.12\.1 here \(\/usr\/share\/puppetdb\/puppetdb\.jar\) runs schema 80 at most/);
    expect(await psql(localDb.database, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`)).toBe('0');
  });

  it('fills the empty database; PuppetDB starts on the copy, and the first pass moves only what the peer received after the snapshot', async () => {
    const started = Date.now();
    const seeded = await runCli(['seed', '--config', configFile(local.jar)]);
    expect(seeded.stderr).toBe('');
    expect(seeded.code).toBe(0);
    for (const phase of ['dump', 'restore']) {
      const finished = seeded.logs.find((line) => line.phase === phase && line.sync_event === 'finished');
      expect(finished, phase).toMatchObject({ ok: true, elapsed: expect.any(Number) });
    }
    expect(seeded.logs.find((line) => line.phase === 'dump' && line.sync_event === 'finished')?.dumpBytes).toBeGreaterThan(10_000);
    // The password of neither role reached a log line.
    expect(JSON.stringify(seeded.logs)).not.toContain(reader.password);
    expect(JSON.stringify(seeded.logs)).not.toContain(localDb.password);

    const seededAt = Date.now();
    await local.start();
    const runningAt = Date.now();
    const later = Date.now() - 60_000;
    // A newer factset of an early node, and a node the peer had not seen.
    await load([peer], [
      [[peer, 'replace_facts', 5, factset(`${prefix}-early-0`, later, 'later')]],
      ...records([`${prefix}-later-0`], later, 'later'),
    ]);

    const pass = await runCli(['once', '--config', writeConfig(local.url, [peer]), '--log-level', 'debug']);
    expect(pass.code).toBe(0);
    expect(transferredWithPrefix(pass, prefix)).toEqual({ facts: 2, catalogs: 1, reports: 1 });
    // Nothing else moved: whatever else the peer held came with the copy.
    expect(transferredByEntity(pass)).toEqual({ catalogs: 1, 'catalog-inputs': 0, facts: 2, 'fact-expiration': 0, reports: 1, nodes: 0 });
    const passedAt = Date.now();
    await expectQuietBothWays(local.url, peer);
    const s = (from: number, to: number) => `${((to - from) / 1000).toFixed(1)} s`;
    console.log(`[seed] seed ${s(started, seededAt)}, PuppetDB start on the copy ${s(seededAt, runningAt)}, later records and the first pass ${s(runningAt, passedAt)}, a pass each way ${s(passedAt, Date.now())}`);
  });

  it('refuses while the local PuppetDB runs', async () => {
    const result = await runCli(['seed', '--config', configFile(local.jar), '--force']);
    expectRefusal(result, 'PDBSYNC_ERR_SEED_LOCAL_RUNNING', new RegExp(`${local.url.replace(/[.]/g, '\\.')} answers; sessions on 127\\.0\\.0\\.1:${pg.port}/${localDb.database}: \\d+ of ${localDb.role}`));
  });

  it('refuses a database that is not empty, and with --force replaces what it holds', async () => {
    await local.stop();
    const refused = await runCli(['seed', '--config', configFile(local.jar)]);
    expectRefusal(refused, 'PDBSYNC_ERR_SEED_LOCAL_NOT_EMPTY', new RegExp(`${localDb.database} holds \\d+ tables, views and sequences and \\d+ functions in schema public`));

    const forced = await runCli(['seed', '--config', configFile(local.jar), '--force']);
    expect(forced.stderr).toBe('');
    expect(forced.code).toBe(0);
    const count = `SELECT count(*) FROM factsets WHERE certname LIKE '${prefix}-%'`;
    expect(await psql(localDb.database, count)).toBe(await psql('puppetdb1', count));
  });
});
