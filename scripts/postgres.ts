// A PostgreSQL of its own on a loopback port, that a test can stop and start again:
// the state database of tests where it goes away (the cluster's PostgreSQL carries
// the PuppetDBs). Needs the postgresql package, which the cluster installs.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asUser, freePort, ownedDir, pgBinDir, run } from './os.ts';

export interface StandalonePostgres {
  readonly port: number;
  /** A role that owns `database`, with a password, as a sidecar's state block names them. */
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** Stops it at once (-m immediate): clients see their connections drop. */
  stop(): Promise<void>;
  /** Starts it again on the same port, with its data. */
  start(): Promise<void>;
  /** Stops it and removes its files. */
  remove(): Promise<void>;
  /** Runs SQL as the superuser in `database` (or in `inDatabase`); its rows, tab-separated. */
  sql(statement: string, inDatabase?: string): Promise<string>;
}

export async function startPostgres(): Promise<StandalonePostgres> {
  const bin = pgBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (the test cluster installs it)');
  const dir = await mkdtemp(join(tmpdir(), 'pdbsync-postgres-'));
  await ownedDir(dir, 'postgres');
  const data = join(dir, 'data');
  const port = await freePort();
  const pgCtl = (args: string[]) => run(...asUser('postgres', join(bin, 'pg_ctl'), args), { cwd: dir });
  await run(...asUser('postgres', join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--auth-local=trust', '--auth-host=scram-sha-256']), { cwd: dir });
  const start = () => pgCtl(['start', '-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`]).then(() => undefined);
  const stop = async () => {
    if (existsSync(join(data, 'postmaster.pid'))) await pgCtl(['stop', '-D', data, '-m', 'immediate', '-w']);
  };
  await start();
  const [database, user, password] = ['syncstate', 'sync', 'pw-sync'];
  const psql = (db: string, sql: string) => run(join(bin, 'psql'), ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql]);
  await psql('postgres', `CREATE ROLE ${user} LOGIN PASSWORD '${password}'`);
  await psql('postgres', `CREATE DATABASE ${database} OWNER ${user}`);
  return {
    port,
    database,
    user,
    password,
    stop,
    start,
    sql: async (statement, inDatabase = database) => (await psql(inDatabase, statement)).trim(),
    remove: async () => {
      await stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
