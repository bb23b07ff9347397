// Starts one PostgreSQL and N real PuppetDB servers on loopback ports for integration tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { httpsSettings, makeClusterPki } from './cluster-tls.ts';
import { asUser, freePort, isRoot, ownedDir, pgBinDir, run } from './os.ts';
import { waitRunning } from './cluster-wait.ts';
import { chownTree, chrootsDir, DEFAULT_PDB_VERSION, PDB_VERSIONS, prepareRuntimes, type PdbRuntime, type PdbVersion } from './pdb-runtime.ts';
import type { TestPki } from './test-pki.ts';

export { waitForQueueDrained } from './cluster-wait.ts';
export { freePort };

/** `pid`: the PuppetDB java process, for benchmarks that read its CPU time in /proc. */
export interface ClusterServer {
  name: string; url: string; port: number; database: string; dir: string; pid: number;
  version: PdbVersion;
  /** With `https`: the same server over https (see cluster-tls.ts). */
  httpsUrl?: string;
}
export interface Cluster {
  servers: ClusterServer[];
  /** With `https`: the certificates of the servers and of the clients. */
  pki?: TestPki;
  /** `pid`: the postmaster; every backend is its child. */
  postgres: { port: number; dir: string; pid: number };
  baseDir: string;
  /** Runs SQL as PostgreSQL's superuser in `database` (a server's `database`, or postgres); its output. */
  sql(database: string, statement: string): Promise<string>;
  stop(): Promise<void>;
}
export interface StartOptions {
  servers: number; baseDir?: string; log?: (line: string) => void;
  /** The PuppetDB version of each server, in order (as many as `servers`); by default all DEFAULT_PDB_VERSION. */
  versions?: readonly PdbVersion[];
  /** Each server serves https too, on its own port, with a test PKI and PuppetDB's certificate-allowlist. */
  https?: boolean;
  /** With `https`: the server (1-based) whose certificate the test CA's CRL revokes; by default the last. */
  revokedServer?: number;
  /** PuppetDB's [command-processing] threads; by default its own (half the cores: one here). */
  commandThreads?: number;
}

/** `dirs`: the servers' folders inside chroots, removed with the cluster. */
interface Live { pdbs: ChildProcess[]; pgData: string; baseDir: string; dirs: string[]; stopping?: Promise<void> }
const live = new Set<Live>();

async function ensurePostgres(log: (l: string) => void): Promise<string> {
  let bin = pgBinDir();
  if (bin) return bin;
  if (!isRoot) throw new Error('postgresql is missing and installing it needs root');
  log('installing postgresql with apt-get (a few minutes)');
  await run('apt-get', ['update']);
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  bin = pgBinDir();
  if (!bin) throw new Error('apt-get install did not provide postgresql');
  return bin;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

// Our killed children stay zombies while the 'exit' handler runs, so a zombie counts as gone.
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function killNow(l: Live): void {
  const pids: number[] = [];
  for (const c of l.pdbs) {
    killGroup(c, 'SIGKILL');
    if (c.pid !== undefined) pids.push(c.pid);
  }
  try {
    // SIGQUIT is PostgreSQL's immediate shutdown; 'exit' handlers cannot wait for pg_ctl.
    const pid = Number(readFileSync(join(l.pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0) {
      process.kill(pid, 'SIGQUIT');
      pids.push(pid);
    }
  } catch {
    /* not running */
  }
  // Removing the folders while the processes still write into them fails.
  const tick = new Int32Array(new SharedArrayBuffer(4));
  for (const end = Date.now() + 5_000; Date.now() < end && pids.some(alive); ) Atomics.wait(tick, 0, 0, 50);
  for (const dir of [l.baseDir, ...l.dirs]) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      /* best effort on exit */
    }
  }
}

let handlersInstalled = false;
function onSignal(signal: NodeJS.Signals): void {
  void Promise.allSettled([...live].map((l) => stopLive(l, undefined))).finally(() =>
    process.exit(signal === 'SIGINT' ? 130 : 143),
  );
}
function onExit(): void {
  for (const l of live) killNow(l);
}
function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
function removeHandlers(): void {
  if (!handlersInstalled || live.size > 0) return;
  handlersInstalled = false;
  process.off('exit', onExit);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

function stopLive(l: Live, pgBin: string | undefined): Promise<void> {
  l.stopping ??= (async () => {
    const exited = l.pdbs.map((c) =>
      c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => c.once('exit', () => r())),
    );
    for (const c of l.pdbs) killGroup(c, 'SIGTERM');
    const timer = setTimeout(() => l.pdbs.forEach((c) => killGroup(c, 'SIGKILL')), 5_000);
    await Promise.all(exited);
    clearTimeout(timer);
    const bin = pgBin ?? pgBinDir();
    if (bin && existsSync(join(l.pgData, 'postmaster.pid'))) {
      await run(...asUser('postgres', join(bin, 'pg_ctl'), ['stop', '-D', l.pgData, '-m', 'immediate', '-w']), {
        cwd: l.pgData,
      }).catch(() => killNow(l));
    }
    for (const dir of [l.baseDir, ...l.dirs]) await rm(dir, { recursive: true, force: true });
    live.delete(l);
    removeHandlers();
  })();
  return l.stopping;
}

/**
 * The folder of server `name` (pdb1, ...) of the cluster in `baseDir`, also from another
 * process: below baseDir for the host's PuppetDB, inside its chroot for the others.
 */
export function serverDir(baseDir: string, name: string): string {
  const onHost = join(baseDir, name);
  if (existsSync(onHost)) return onHost;
  for (const version of PDB_VERSIONS) {
    const inChroot = join(chrootsDir(), `pdb-${version}`, CHROOT_SERVERS, basename(baseDir), name);
    if (existsSync(inChroot)) return inChroot;
  }
  throw new Error(`no server ${name} of the cluster in ${baseDir}`);
}

/** Where a chroot's servers keep their folders, below its root. */
export const CHROOT_SERVERS = 'var/lib/pdbsync-test';

export interface ServerSettings {
  pgPort: number; database: string; password: string; port: number; commandThreads?: number;
  /** The database role; by default named as the database. */
  role?: string;
  https?: { pki: TestPki; sslPort: number; name: string };
}

/** A server's folder as its package would lay it out: config.ini, auth.conf and logback.xml of its own version. */
export async function writeServerFiles(dir: string, runtime: PdbRuntime, s: ServerSettings): Promise<void> {
  for (const sub of ['conf.d', 'var', 'logs']) await mkdir(join(dir, sub), { recursive: true });
  const at = runtime.inside(dir);
  let https: { puppetdb: string[]; jetty: string[] } = { puppetdb: [], jetty: [] };
  if (s.https) {
    // The server reads the certificates as its own user, from within its root.
    const { pki } = s.https;
    let seen = (path: string) => path;
    if (runtime.root !== '/') {
      await cp(pki.dir, join(dir, 'pki'), { recursive: true });
      seen = (path: string) => `${at}/pki/${relative(pki.dir, path)}`;
    }
    https = httpsSettings(pki, s.https.name, s.https.sslPort, seen);
  }
  await copyFile(join(runtime.root, 'etc/puppetdb/conf.d/auth.conf'), join(dir, 'conf.d', 'auth.conf'));
  const logback = (await readFile(join(runtime.root, 'etc/puppetdb/logback.xml'), 'utf8')).replaceAll('/var/log/puppetdb/', `${at}/logs/`);
  await writeFile(join(dir, 'logback.xml'), logback);
  await writeFile(join(dir, 'conf.d', 'config.ini'), [
    '[global]', `vardir = ${at}/var`, `logging-config = ${at}/logback.xml`,
    '[puppetdb]', 'disable-update-checking = true', ...https.puppetdb,
    '[database]', `subname = //127.0.0.1:${s.pgPort}/${s.database}`, `username = ${s.role ?? s.database}`, `password = ${s.password}`,
    // Tests create data with old timestamps on purpose: never expire, purge or drop it.
    // resource-events-ttl defaults to report-ttl, and events older than it are not even stored.
    'gc-interval = 0', 'node-ttl = 0s', 'node-purge-ttl = 0s', 'report-ttl = 3650d', 'resource-events-ttl = 3650d',
    '[jetty]', 'host = 127.0.0.1', `port = ${s.port}`, ...https.jetty,
    '[nrepl]', 'enabled = false',
    ...(s.commandThreads === undefined ? [] : ['[command-processing]', `threads = ${s.commandThreads}`]),
    '',
  ].join('\n'));
  await chownTree(dir, runtime);
}

/**
 * PuppetDBs that integration tests start of their own on the cluster's PostgreSQL
 * (seed.test.ts one, spool-puppet.test.ts two), each holding about 50 connections.
 */
const OWN_SERVERS_OF_TESTS = 2;

export async function startCluster(options: StartOptions): Promise<Cluster> {
  const log = options.log ?? (() => {});
  const versions = options.versions ?? Array.from({ length: options.servers }, () => DEFAULT_PDB_VERSION);
  if (versions.length !== options.servers) throw new Error(`${options.servers} servers, ${versions.length} versions`);
  const pgBin = await ensurePostgres(log);
  const runtimes = await prepareRuntimes(versions, log);
  const baseDir = options.baseDir ? resolve(options.baseDir) : await mkdtemp(join(tmpdir(), 'pdbsync-cluster-'));
  await mkdir(baseDir, { recursive: true });
  // The postgres and puppetdb users must be able to reach their folders below it.
  chmodSync(baseDir, 0o755);

  const pgDir = join(baseDir, 'postgres');
  const pgData = join(pgDir, 'data');
  const l: Live = { pdbs: [], pgData, baseDir, dirs: [] };
  live.add(l);
  installHandlers();
  try {
    const pgPort = await freePort();
    const sockDir = join(pgDir, 'sock');
    await ownedDir(pgDir, 'postgres');
    await ownedDir(sockDir, 'postgres');
    const t0 = Date.now();
    await run(...asUser('postgres', join(pgBin, 'initdb'), [
      '-D', pgData, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync',
      '--auth-local=trust', '--auth-host=scram-sha-256',
    ]), { cwd: pgDir });
    const pgOpts = [
      `-p ${pgPort}`, `-k ${sockDir}`, '-c listen_addresses=127.0.0.1',
      '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off',
      // PuppetDB opens a read and a write pool of 25 connections each.
      `-c max_connections=${60 * (options.servers + OWN_SERVERS_OF_TESTS) + 20}`,
    ].join(' ');
    await run(...asUser('postgres', join(pgBin, 'pg_ctl'), [
      'start', '-D', pgData, '-l', join(pgDir, 'postgres.log'), '-w', '-t', '60', '-o', pgOpts,
    ]), { cwd: pgDir });
    log(`postgres on port ${pgPort} (${Date.now() - t0} ms)`);
    const pgPid = Number(readFileSync(join(pgData, 'postmaster.pid'), 'utf8').split('\n')[0]);

    const psql = (db: string, sql: string) =>
      run(join(pgBin, 'psql'), ['-h', sockDir, '-p', String(pgPort), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-c', sql]);
    const pki = options.https ? await makeClusterPki(join(baseDir, 'pki'), Array.from({ length: options.servers }, (_, i) => `pdb${i + 1}`), `pdb${options.revokedServer ?? options.servers}`) : undefined;
    // PuppetDB reads its certificate and key as the puppetdb user.
    const host = runtimes.get('7.12.1');
    if (pki && host) await chownTree(pki.dir, host);
    const servers: Array<Omit<ClusterServer, 'pid'>> = [];
    for (let i = 1; i <= options.servers; i++) {
      const database = `puppetdb${i}`;
      const password = `pw-${database}`;
      await psql('postgres', `CREATE ROLE ${database} LOGIN PASSWORD '${password}'`);
      await psql('postgres', `CREATE DATABASE ${database} OWNER ${database} ENCODING 'UTF8' TEMPLATE template0`);
      await psql(database, 'CREATE EXTENSION pg_trgm; CREATE EXTENSION pgcrypto;');

      const runtime = runtimes.get(versions[i - 1]!)!;
      // A chroot's server keeps its files inside the chroot, where it can read them.
      const dir = runtime.root === '/' ? join(baseDir, `pdb${i}`) : join(runtime.root, CHROOT_SERVERS, basename(baseDir), `pdb${i}`);
      if (runtime.root !== '/') l.dirs.push(dirname(dir));
      const port = await freePort();
      const sslPort = pki ? await freePort() : undefined;
      await writeServerFiles(dir, runtime, { pgPort, database, password, port, ...(options.commandThreads !== undefined && { commandThreads: options.commandThreads }), ...(pki && sslPort !== undefined && { https: { pki, sslPort, name: `pdb${i}` } }) });
      servers.push({ name: `pdb${i}`, version: runtime.version, url: `http://127.0.0.1:${port}`, port, database, dir, ...(sslPort && { httpsUrl: `https://127.0.0.1:${sslPort}` }) });
    }

    const t1 = Date.now();
    for (const s of servers) {
      const out = openSync(join(s.dir, 'stdout.log'), 'a');
      const [cmd, args] = runtimes.get(s.version)!.command(s.dir, join(s.dir, 'conf.d'), '512m');
      const child = spawn(cmd, args, {
        cwd: s.dir, detached: true, stdio: ['ignore', out, out], env: { ...process.env, HOME: s.dir },
      });
      closeSync(out);
      l.pdbs.push(child);
    }
    await Promise.all(servers.map((s, i) => waitRunning(s, l.pdbs[i]!, t1, log)));
    log(`${servers.length} PuppetDB(s) running after ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    // setpriv execs java, so the child's pid is PuppetDB's.
    const withPids = servers.map((s, i) => ({ ...s, pid: l.pdbs[i]!.pid! }));
    return { servers: withPids, ...(pki && { pki }), postgres: { port: pgPort, dir: pgDir, pid: pgPid }, baseDir, sql: psql, stop: () => stopLive(l, pgBin) };
  } catch (err) {
    await stopLive(l, pgBin).catch(() => {});
    throw err;
  }
}
