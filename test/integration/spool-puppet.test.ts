// The spool closes the hole PuppetDB's HA guide names: a command that reached only one
// server is lost when that server's database is. Real Puppet runs (Debian's terminus)
// broadcast to two PuppetDBs of this test's own (8.8.1, https) and to the spool, named
// in submit_only_server_urls as docs/puppet.md says. B is down during the runs, then
// A's database is destroyed: only the spool still has them, and it brings both back.
// Then B is restored from a backup older than later runs, and `spool replay` brings
// it up to date; last, a stopped spool does not fail a run.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { prepareServer, type SingleServer } from '../../scripts/cluster-server.ts';
import { ALLOWED_CLIENT, ALLOWLIST_FILE } from '../../scripts/cluster-tls.ts';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { testPkiAt } from '../../scripts/test-pki.ts';
import { uniquePrefix } from './convergence.ts';
import { eventually, freePort, psqlAdmin, runCli, startCli, type Sidecar } from './pdb.ts';
import { applyNotify, ensurePuppet, expectRunSucceeded, puppetConfDir, storedOn, type StoredRuns } from './puppet-agent.ts';

const tag = uniquePrefix('spool').replace(/-/g, '_');
const password = `pw-${tag}`;
let pg: { socketDir: string; port: number };
let pkiDir: string;
let serverA: SingleServer;
let serverB: SingleServer;
let spoolConfig: string;
let spoolUrl: string;
let spool: Sidecar | undefined;
let confdir: string;
const since = new Date(Date.now() - 1000).toISOString();

const databaseOf = (server: 'a' | 'b') => `${tag}_${server}`;

/** An empty database for a PuppetDB, as its installation makes one. */
async function createDatabase(server: 'a' | 'b'): Promise<void> {
  await psqlAdmin(pg, 'postgres', `CREATE DATABASE ${databaseOf(server)} OWNER ${databaseOf(server)} TEMPLATE template0`);
  await psqlAdmin(pg, databaseOf(server), 'CREATE EXTENSION pg_trgm', 'CREATE EXTENSION pgcrypto');
}

async function dropDatabase(server: 'a' | 'b'): Promise<void> {
  await psqlAdmin(pg, 'postgres', `DROP DATABASE ${databaseOf(server)} WITH (FORCE)`);
}

/** pg_dump or pg_restore as PostgreSQL's superuser; resolves when it exited 0. */
function pgTool(tool: 'pg_dump' | 'pg_restore', args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, ['-h', pg.socketDir, '-p', String(pg.port), '-U', 'postgres', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${tool} exited ${code}: ${err}`))));
  });
}

function startSpool(): Sidecar {
  spool = startCli(['spool', '--config', spoolConfig, '--log-level', 'debug']);
  return spool;
}

async function stopSpool(): Promise<void> {
  if (spool === undefined) return;
  spool.signal('SIGTERM');
  expect(await spool.exited).toBe(0);
  spool = undefined;
}

/** The spool's gauge of commands still pending for any server, from /metrics (over https, as the terminus reaches it). */
async function pendingInSpool(): Promise<number> {
  const pki = testPkiAt(pkiDir);
  const { requestAs } = await import('../../scripts/test-pki.ts');
  const answer = await requestAs(pki, pki.cert(ALLOWED_CLIENT), 'GET', `${spoolUrl}/metrics`);
  const lines = answer.body.split('\n').filter((line) => line.startsWith('pdbsync_spool_pending_commands{'));
  if (lines.length === 0) return Number.NaN;
  return lines.reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

async function deliveredEverywhere(): Promise<void> {
  await eventually(async () => (await pendingInSpool()) === 0, 300_000, 'the spool delivers everything pending');
  await Promise.all([waitForQueueDrained(serverA.url), waitForQueueDrained(serverB.url)]);
}

function runs(count: number, label: string): void {
  for (let i = 0; i < count; i++) expectRunSucceeded(applyNotify(confdir, `${tag} ${label} run ${i}`));
}

beforeAll(async () => {
  const postgres = inject('pdbPostgres');
  const https = inject('pdbHttps');
  if (postgres === null || https === null) throw new Error('spool-puppet.test.ts needs the servers\' PostgreSQL and PKI (PDBSYNC_TEST_PG, PDBSYNC_TEST_PKI)');
  pg = postgres;
  pkiDir = https.pkiDir;
  ensurePuppet();
  const pki = testPkiAt(pkiDir);
  for (const server of ['a', 'b'] as const) {
    await psqlAdmin(pg, 'postgres', `CREATE ROLE ${databaseOf(server)} LOGIN PASSWORD '${password}'`);
    await createDatabase(server);
  }
  // Both serve https with the certificate the cluster's first server has: the terminus talks https only.
  const server = (name: 'a' | 'b') => prepareServer({ version: '8.8.1', pgPort: pg.port, database: databaseOf(name), role: databaseOf(name), password, https: { pki, name: 'pdb1' } });
  [serverA, serverB] = await Promise.all([server('a'), server('b')]);
  await Promise.all([serverA.start(), serverB.start()]);

  const dir = mkdtempSync(join(tmpdir(), 'pdbsync-spool-'));
  const port = await freePort();
  spoolUrl = `https://127.0.0.1:${port}`;
  spoolConfig = join(dir, 'spool.conf');
  const client = pki.cert(ALLOWED_CLIENT);
  writeFileSync(spoolConfig, [
    'spool: {',
    `  servers: ["${serverA.httpsUrl}", "${serverB.httpsUrl}"]`,
    `  journal-dir: "${join(dir, 'journal')}"`,
    // Seconds, not the default minutes: the test's runs are done long before.
    '  grace: 3s',
    '  report-settle: 0s',
    '}',
    `http: { host: "127.0.0.1", port: ${port}, ssl-cert: "${client.cert}", ssl-key: "${client.key}", ssl-ca-cert: "${pki.ca}", certificate-allowlist: "${join(pkiDir, ALLOWLIST_FILE)}" }`,
    `tls: { ssl-cert: "${client.cert}", ssl-key: "${client.key}", ssl-ca-cert: "${pki.ca}" }`,
    '',
  ].join('\n'));
  startSpool();
  await eventually(async () => !Number.isNaN(await pendingInSpool().catch(() => Number.NaN)), 60_000, 'the spool answers');
  confdir = puppetConfDir(pkiDir, [
    '[main]',
    `server_urls = ${serverA.httpsUrl},${serverB.httpsUrl}`,
    'command_broadcast = true',
    `submit_only_server_urls = ${spoolUrl}`,
    'min_successful_submissions = 1',
    'soft_write_failure = false',
    '',
  ].join('\n'));
});

afterAll(async () => {
  await stopSpool().catch(() => {});
  await Promise.all([serverA?.remove(), serverB?.remove()]);
  for (const server of ['a', 'b'] as const) await dropDatabase(server).catch(() => {});
});

describe('the disk-loss case: runs reach only A and the spool, then A\'s database is lost', () => {
  let beforeLoss: StoredRuns;

  beforeAll(async () => {
    await serverB.stop();
    runs(2, 'while B is down');
    await waitForQueueDrained(serverA.url);
    beforeLoss = await storedOn(serverA.url, since);
    await serverA.stop();
    await dropDatabase('a');
    await createDatabase('a');
    await serverA.start();
    await serverB.start();
    await deliveredEverywhere();
  });

  it('had the runs on A before the loss: a factset, a catalog and both reports', () => {
    expect(beforeLoss.factset).toMatch(/^[0-9a-f]{40}$/);
    expect(beforeLoss.catalog).toMatch(/^[0-9a-f]{40}$/);
    expect(beforeLoss.reports).toHaveLength(2);
  });

  it('brings every run back to A, as Puppet wrote it (the same hashes)', async () => {
    expect(await storedOn(serverA.url, since)).toEqual(beforeLoss);
  });

  it('brings every run to B, which was down during them', async () => {
    expect(await storedOn(serverB.url, since)).toEqual(beforeLoss);
  });
});

describe('spool replay: B restored from a backup older than later runs', () => {
  let afterRuns: StoredRuns;
  let restored: StoredRuns;
  let replay: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    const backup = join(mkdtempSync(join(tmpdir(), 'pdbsync-backup-')), 'b.dump');
    await pgTool('pg_dump', ['-Fc', '-f', backup, databaseOf('b')]);
    const backupTaken = new Date().toISOString();
    runs(1, 'after the backup');
    await Promise.all([waitForQueueDrained(serverA.url), waitForQueueDrained(serverB.url)]);
    // Past the grace: the spool finds both servers hold the run and keeps it only for replay.
    await deliveredEverywhere();
    afterRuns = await storedOn(serverA.url, since);
    await serverB.stop();
    await dropDatabase('b');
    await createDatabase('b');
    // As the database's owner, as PuppetDB's own tables are; the extensions (made by createDatabase) and their comments stay the superuser's.
    await pgTool('pg_restore', ['-d', databaseOf('b'), '--no-owner', '--no-comments', '--role', databaseOf('b'), backup]);
    await serverB.start();
    restored = await storedOn(serverB.url, since);
    replay = await runCli(['spool', 'replay', '--config', spoolConfig, '--server', serverB.httpsUrl!, '--since', backupTaken]);
    await waitForQueueDrained(serverB.url);
  });

  it('B restored lacks the run after the backup: its report, and its factset and catalog are older', () => {
    expect(afterRuns.reports).toHaveLength(3);
    expect(restored.reports).toHaveLength(2);
    expect(restored.factset).not.toBe(afterRuns.factset);
    expect(restored.catalog).not.toBe(afterRuns.catalog);
  });

  it('replay brings B up to date with A', async () => {
    expect(replay.code, replay.stderr).toBe(0);
    expect(await storedOn(serverB.url, since)).toEqual(afterRuns);
  });
});

describe('a stopped spool', () => {
  it('does not fail a run: min_successful_submissions = 1 is met by the servers', async () => {
    await stopSpool();
    const before = (await storedOn(serverA.url, since)).reports.length;
    runs(1, 'with the spool stopped');
    await waitForQueueDrained(serverA.url);
    expect((await storedOn(serverA.url, since)).reports).toHaveLength(before + 1);
  });
});
