/**
 * The state database: how to connect to it, the advisory-lock keys of the schema, and
 * the schema's migrations. The sidecar creates and migrates its own schema; two
 * sidecars starting at once migrate one after the other under a transaction lock.
 */

import pg from 'pg';
import type { DatabaseConnection, StateConfig } from '../config/types.ts';
import { SyncError } from '../errors.ts';

/** Every statement of the state database is answered within this, or fails: a stuck database must not hold a pass. */
export const STATE_QUERY_TIMEOUT_MS = 5_000;

/** node-postgres options for a connection block (`state`, a seed's databases); `queryTimeoutMs` bounds each statement on the client's side. */
export function clientConfig(state: DatabaseConnection, queryTimeoutMs = STATE_QUERY_TIMEOUT_MS): pg.ClientConfig {
  const { ssl } = state;
  const client = ssl?.cert !== undefined && ssl.key !== undefined ? { cert: ssl.cert, key: ssl.key } : {};
  const tls =
    ssl === undefined
      ? false
      : ssl.mode === 'require'
        ? { rejectUnauthorized: false, ...client }
        : // verify-ca checks the chain only, as libpq does; verify-full the host name too.
          { ca: ssl.ca, rejectUnauthorized: true, ...client, ...(ssl.mode === 'verify-ca' && { checkServerIdentity: () => undefined }) };
  return {
    host: state.host,
    port: state.port,
    database: state.database,
    user: state.user,
    ...(state.password && { password: state.password }),
    ssl: tls,
    application_name: 'puppetdb-sync',
    connectionTimeoutMillis: queryTimeoutMs,
    query_timeout: queryTimeoutMs,
    keepAlive: true,
  };
}

/** A failure of the state database as the logs show it: coded, naming the database, with no stack. */
export function stateDatabaseError(state: StateConfig, error: unknown): SyncError {
  return new SyncError('PDBSYNC_ERR_STATE_DATABASE', `${state.describe}: ${error instanceof Error ? error.message : String(error)}`);
}

/** The first key of every advisory lock the sidecar takes: "pdbs". */
export const LOCK_CLASS = 0x70646273;

/** The second key: FNV-1a of the purpose and schema, in 31 bits (PostgreSQL's int4, never negative). */
export function lockObject(purpose: 'leader' | 'migrate', schema: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(`${purpose}:${schema}`)) hash = Math.imul(hash ^ byte, 0x01000193);
  return (hash >>> 0) & 0x7fffffff;
}

/** The schema's migrations in order: version n is MIGRATIONS[n - 1]. Never edit one that has shipped; add the next. */
const MIGRATIONS: ReadonlyArray<(schema: string) => string> = [
  (s) => `
    CREATE TABLE ${s}.entity_state (
      remote text NOT NULL,
      entity text NOT NULL,
      mark timestamptz,
      reconciled_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (remote, entity)
    );
    CREATE TABLE ${s}.passes (
      id bigserial PRIMARY KEY,
      remote text NOT NULL,
      kind text NOT NULL,
      started_at timestamptz NOT NULL,
      finished_at timestamptz NOT NULL,
      ok boolean NOT NULL,
      entities jsonb NOT NULL,
      error text,
      sidecar text NOT NULL
    );
    CREATE INDEX passes_finished_at ON ${s}.passes (finished_at);`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Creates the schema if it is missing and applies the migrations it lacks, in one
 * transaction under an advisory lock: a second sidecar starting at once waits, then
 * finds them applied. The schema is created only when missing, so a role without
 * CREATE on the database can use one a DBA created for it. The versions applied now.
 */
export async function migrate(client: pg.ClientBase, schema: string, sidecar: string): Promise<number[]> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_CLASS, lockObject('migrate', schema)]);
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL)`);
    const done = new Set((await client.query<{ version: number }>(`SELECT version FROM ${schema}.migrations`)).rows.map((row) => row.version));
    const applied: number[] = [];
    for (const [i, sql] of MIGRATIONS.entries()) {
      if (done.has(i + 1)) continue;
      await client.query(sql(schema));
      await client.query(`INSERT INTO ${schema}.migrations (version, applied_by) VALUES ($1, $2)`, [i + 1, sidecar]);
      applied.push(i + 1);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
