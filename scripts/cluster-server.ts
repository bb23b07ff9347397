// One PuppetDB of its own on an existing database of a running PostgreSQL, started and
// stopped as a test needs (seed.test.ts: a local PuppetDB that is stopped, then runs on
// the database a seed filled). Its folder is laid out as the cluster's servers'.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROOT_SERVERS, writeServerFiles } from './cluster.ts';
import type { TestPki } from './test-pki.ts';
import { waitRunning } from './cluster-wait.ts';
import { freePort } from './os.ts';
import { prepareRuntimes, type PdbVersion } from './pdb-runtime.ts';

export interface SingleServerOptions {
  version: PdbVersion;
  /** PostgreSQL on 127.0.0.1. */
  pgPort: number;
  database: string;
  role: string;
  password: string;
  /** Serve https too, with the certificate of `name` in `pki` (as a cluster's server does). */
  https?: { pki: TestPki; name: string };
  log?: (line: string) => void;
}

export interface SingleServer {
  readonly name: string;
  readonly url: string;
  /** Its https URL, when it serves https. */
  readonly httpsUrl: string | undefined;
  /** Its conf.d: config.ini with [jetty] and [database], as puppetdb.conf-dir reads it. */
  readonly confDir: string;
  /** The jar it runs, as the host sees it. */
  readonly jar: string;
  /** Starts it and waits until it answers `running`. */
  start(): Promise<void>;
  /** Stops it (SIGTERM, SIGKILL after 10 s) and waits until it exited. */
  stop(): Promise<void>;
  /** Stops it and removes its folder. */
  remove(): Promise<void>;
}

const STOP_GRACE_MS = 10_000;

/** Writes the server's folder; nothing runs until `start`. */
export async function prepareServer(options: SingleServerOptions): Promise<SingleServer> {
  const log = options.log ?? (() => {});
  const runtime = (await prepareRuntimes([options.version], log)).get(options.version)!;
  const name = `${options.database}-pdb`;
  // A chroot's server reads its files inside the chroot.
  const parent = runtime.root === '/' ? tmpdir() : join(runtime.root, CHROOT_SERVERS);
  await mkdir(parent, { recursive: true });
  const base = await mkdtemp(join(parent, 'pdbsync-single-'));
  // The puppetdb user must reach its folder below it.
  await chmod(base, 0o755);
  const dir = join(base, name);
  const port = await freePort();
  const sslPort = options.https && (await freePort());
  const https = options.https && sslPort ? { ...options.https, sslPort } : undefined;
  await writeServerFiles(dir, runtime, { pgPort: options.pgPort, database: options.database, role: options.role, password: options.password, port, ...(https && { https }) });
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child?.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  // A test that dies must not leave a JVM behind.
  const onExit = () => killGroup('SIGKILL');
  const stop = async () => {
    const running = child;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    killGroup('SIGTERM');
    const timer = setTimeout(() => killGroup('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    process.off('exit', onExit);
  };
  return {
    name,
    url,
    httpsUrl: sslPort ? `https://127.0.0.1:${sslPort}` : undefined,
    confDir: join(dir, 'conf.d'),
    jar: join(runtime.root, 'usr/share/puppetdb/puppetdb.jar'),
    async start() {
      const out = openSync(join(dir, 'stdout.log'), 'a');
      const [cmd, args] = runtime.command(dir, join(dir, 'conf.d'), '512m');
      child = spawn(cmd, args, { cwd: dir, detached: true, stdio: ['ignore', out, out], env: { ...process.env, HOME: dir } });
      closeSync(out);
      process.on('exit', onExit);
      await waitRunning({ name, url, dir }, child, Date.now(), log);
    },
    stop,
    async remove() {
      await stop();
      await rm(base, { recursive: true, force: true });
    },
  };
}
