/**
 * Pure: how pg_dump and pg_restore are called for a seed, and how a connection reaches
 * them. Everything secret goes through the environment and files libpq reads
 * (PGPASSFILE, PGSSL*), never the argv, which any user of the host can read in /proc.
 */

import type { DatabaseConnection } from '../config/types.ts';

/** The files a child's libpq reads, written by credentials.ts (0600, in a 0700 folder). */
export interface ConnectionFiles {
  readonly passFile: string;
  readonly rootCert?: string;
  readonly cert?: string;
  readonly key?: string;
}

/** libpq's environment for `connection`: no password in it, only the file that holds one. */
export function libpqEnvironment(connection: DatabaseConnection, files: ConnectionFiles): Record<string, string> {
  return {
    PGHOST: connection.host,
    PGPORT: String(connection.port),
    PGDATABASE: connection.database,
    PGUSER: connection.user,
    PGPASSFILE: files.passFile,
    PGSSLMODE: connection.ssl?.mode ?? 'disable',
    PGAPPNAME: 'puppetdb-sync seed',
    // libpq would otherwise try ~/.postgresql/postgresql.crt and a GSS handshake first.
    PGGSSENCMODE: 'disable',
    ...(files.rootCert !== undefined && { PGSSLROOTCERT: files.rootCert }),
    ...(files.cert !== undefined && { PGSSLCERT: files.cert }),
    ...(files.key !== undefined && { PGSSLKEY: files.key }),
  };
}

/** One line of a pgpass file: `:` and `\` escaped, as libpq reads them. */
export function pgpassLine(connection: DatabaseConnection, password: string): string {
  const escape = (text: string) => text.replace(/[\\:]/g, (c) => `\\${c}`);
  return `${[connection.host, String(connection.port), connection.database, connection.user, password].map(escape).join(':')}\n`;
}

/**
 * pg_dump of PuppetDB's schema in directory format, `jobs` tables at once. With -j,
 * pg_dump exports its first transaction's snapshot and every worker imports it: one
 * consistent view of the database, as a single-threaded dump has. No owners and no
 * grants: the restored objects belong to the local PuppetDB's role.
 */
export function dumpArgs(dir: string, jobs: number): string[] {
  return ['--format=directory', `--jobs=${jobs}`, `--file=${dir}`, '--schema=public', '--no-owner', '--no-privileges', '--no-password'];
}

/** A database to connect to, every part of it from libpq's environment: without -d pg_restore writes SQL to stdout. */
const CONNECT_FROM_ENVIRONMENT = '--dbname=postgresql://';

/**
 * pg_restore of that dump, `jobs` at once. `--schema=public` restores the objects in
 * the schema and not the schema itself (which exists in every database), nor the
 * extensions (created by PuppetDB's installation, as a superuser); the first error stops it.
 */
export function restoreArgs(dir: string, jobs: number): string[] {
  return ['--format=directory', `--jobs=${jobs}`, '--schema=public', '--no-owner', '--no-privileges', '--exit-on-error', '--no-password', CONNECT_FROM_ENVIRONMENT, dir];
}

/** "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" -> 15; "... 9.6.24" -> 9; undefined when not such a line. */
export function toolMajor(versionLine: string): number | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(versionLine);
  if (!match) return undefined;
  return Number(match[1]) >= 10 ? Number(match[1]) : Number(`${match[1]}.${match[2] ?? 0}`);
}

/** server_version_num (150018, 90624) -> its major version (15, 9.6). */
export function serverMajor(versionNum: number): number {
  return versionNum >= 100_000 ? Math.floor(versionNum / 10_000) : Math.floor(versionNum / 10_000) + (Math.floor(versionNum / 100) % 100) / 10;
}
