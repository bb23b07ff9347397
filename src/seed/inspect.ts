/**
 * What a seed reads from the two databases before it copies, and the one change it
 * makes itself (`--force`: emptying the local database). Every statement has a
 * deadline; every failure is PDBSYNC_ERR_SEED_DATABASE naming the database.
 */

import { connect } from 'node:net';
import pg from 'pg';
import type { DatabaseConnection } from '../config/types.ts';
import { SyncError } from '../errors.ts';
import { clientConfig } from '../state/database.ts';
import type { Contents, Session } from './guards.ts';

/** Inspection answers at once; emptying a large database takes longer. */
const INSPECT_TIMEOUT_MS = 30_000;
const EMPTYING_TIMEOUT_MS = 10 * 60_000;
const CONNECT_PROBE_MS = 3_000;

/** Objects of schema public that no extension owns (pg_trgm's and pgcrypto's functions live there too). */
const NOT_AN_EXTENSIONS = (catalog: string, alias: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${alias}.oid AND d.deptype = 'e')`;
const RELATIONS = `FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${NOT_AN_EXTENSIONS('pg_class', 'c')}`;
const FUNCTIONS = `FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND ${NOT_AN_EXTENSIONS('pg_proc', 'p')}`;

export interface Server {
  /** server_version_num. */
  readonly versionNum: number;
  readonly extensions: readonly string[];
  readonly databaseBytes: number;
}

export interface PeerFacts extends Server {
  /** The greatest schema_migrations version; undefined when the database has no such table (not PuppetDB's). */
  readonly schema: number | undefined;
}

export interface LocalFacts extends Server {
  readonly sessions: readonly Session[];
  readonly contents: Contents;
}

async function withClient<T>(connection: DatabaseConnection, timeoutMs: number, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(clientConfig(connection, timeoutMs));
  // A connection that breaks later is reported by the query that fails.
  client.on('error', () => {});
  try {
    await client.connect();
    return await use(client);
  } catch (error) {
    throw new SyncError('PDBSYNC_ERR_SEED_DATABASE', `${connection.describe} as ${connection.user}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await client.end().catch(() => {});
  }
}

async function server(client: pg.Client): Promise<Server> {
  const { rows } = await client.query<{ version: number; size: string }>(`SELECT current_setting('server_version_num')::int AS version, pg_database_size(current_database()) AS size`);
  const extensions = await client.query<{ extname: string }>(`SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY extname`);
  return { versionNum: rows[0]!.version, databaseBytes: Number(rows[0]!.size), extensions: extensions.rows.map((row) => row.extname) };
}

export function inspectPeer(connection: DatabaseConnection): Promise<PeerFacts> {
  return withClient(connection, INSPECT_TIMEOUT_MS, async (client) => {
    const facts = await server(client);
    const { rows } = await client.query<{ present: boolean }>(`SELECT to_regclass('public.schema_migrations') IS NOT NULL AS present`);
    if (!rows[0]!.present) return { ...facts, schema: undefined };
    const schema = await client.query<{ version: number | null }>('SELECT max(version)::int AS version FROM public.schema_migrations');
    return { ...facts, schema: schema.rows[0]!.version ?? undefined };
  });
}

export function inspectLocal(connection: DatabaseConnection): Promise<LocalFacts> {
  return withClient(connection, INSPECT_TIMEOUT_MS, async (client) => {
    const facts = await server(client);
    const sessions = await client.query<{ application: string; role: string; count: string }>(
      `SELECT application_name AS application, coalesce(usename, '') AS role, count(*) AS count FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    const contents = await client.query<{ relations: string; functions: string }>(`SELECT (SELECT count(*) ${RELATIONS}) AS relations, (SELECT count(*) ${FUNCTIONS}) AS functions`);
    return {
      ...facts,
      sessions: sessions.rows.map((row) => ({ application: row.application, user: row.role, count: Number(row.count) })),
      contents: { relations: Number(contents.rows[0]!.relations), functions: Number(contents.rows[0]!.functions) },
    };
  });
}

/**
 * Drops every table, view, sequence and function of schema public that no extension
 * owns, in one transaction: the statements are listed first, as names read while
 * dropping could already be gone.
 */
export function emptyLocal(connection: DatabaseConnection): Promise<void> {
  return withClient(connection, EMPTYING_TIMEOUT_MS, async (client) => {
    await client.query('BEGIN');
    const { rows } = await client.query<{ statement: string }>(`
      SELECT format('DROP %s IF EXISTS public.%I CASCADE',
                    CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                    c.relname) AS statement
      ${RELATIONS}
      UNION ALL
      SELECT format('DROP %s IF EXISTS public.%I(%s) CASCADE', CASE p.prokind WHEN 'a' THEN 'AGGREGATE' WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
                    p.proname, pg_get_function_identity_arguments(p.oid)) AS statement
      ${FUNCTIONS}`);
    for (const { statement } of rows) await client.query(statement);
    await client.query('COMMIT');
  });
}

/** Whether something accepts connections at the server URL's host and port: a running PuppetDB does, http or https. */
export function answers(serverUrl: string): Promise<boolean> {
  const url = new URL(serverUrl);
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port) });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(CONNECT_PROBE_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
