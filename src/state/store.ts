/**
 * The sync state kept in PostgreSQL (the `state` block): per remote and entity the
 * watermark and the time of the last reconciliation, and the pass history. Passes
 * read and write the state in memory, as without a database; the store writes what
 * changed after each pass and reads it back when the sidecar starts or takes the
 * lead. A database that cannot be reached or written degrades to memory: what
 * changed is written once it can be, and until then a restart loses it.
 */

import pg from 'pg';
import type { StateConfig } from '../config/types.ts';
import type { Logger } from '../log.ts';
import { MemorySyncState, type EntitySyncState, type SyncStateStore } from '../sync/sync-state.ts';
import type { EntityName, EntityResult, PassKind } from '../types.ts';
import { clientConfig, migrate, stateDatabaseError } from './database.ts';

/** A pass as the history keeps it. */
export interface StoredPass {
  readonly remote: string;
  readonly kind: PassKind;
  /** ISO 8601. */
  readonly start: string;
  readonly end: string;
  readonly ok: boolean;
  readonly entities: readonly EntityResult[];
  readonly error: string | null;
  /** Which sidecar ran it: host name and process id. */
  readonly sidecar: string;
}

/** Whether the state database is in use, for /status, /health and the metrics. */
export interface StateDatabaseStatus {
  /** host:port/database. */
  readonly database: string;
  readonly available: boolean;
  /** The last failure, one line with its code; null while available. */
  readonly error: string | null;
}

interface EntityStateRow {
  remote: string;
  entity: EntityName;
  mark: Date | null;
  reconciled_at: Date;
}

/** How long an unavailable state database is left alone before the next try. */
const RETRY_AFTER_MS = 5_000;

export class PgSyncState implements SyncStateStore {
  private readonly memory = new MemorySyncState();
  /** What changed since the last write, by `${remote} ${entity}`; `change` tells a later change from the one written. */
  private readonly unwritten = new Map<string, { remote: string; entity: EntityName; change: number }>();
  private changes = 0;
  private readonly pool: pg.Pool;
  private readonly config: StateConfig;
  private readonly log: Logger;
  private readonly sidecar: string;
  private migrated = false;
  private available = false;
  private lastError: string | null = 'not connected yet';
  /** While unavailable, not tried again before this (ms since the epoch): a database that hangs must not slow every pass. */
  private retryAt = 0;

  constructor(config: StateConfig, log: Logger, sidecar: string) {
    this.config = config;
    this.log = log;
    this.sidecar = sidecar;
    this.pool = new pg.Pool({ ...clientConfig(config), max: 2 });
    // An idle connection that breaks (the database restarted) is dropped by the pool; the next query connects anew.
    this.pool.on('error', () => undefined);
  }

  get(remote: string, entity: EntityName): EntitySyncState | undefined {
    return this.memory.get(remote, entity);
  }

  set(remote: string, entity: EntityName, state: EntitySyncState): void {
    this.memory.set(remote, entity, state);
    this.unwritten.set(`${remote} ${entity}`, { remote, entity, change: ++this.changes });
  }

  status(): StateDatabaseStatus {
    return { database: this.config.describe, available: this.available, error: this.available ? null : this.lastError };
  }

  /**
   * Reads the stored state of `remotes` over what memory holds (another sidecar may
   * have led since): the passes go on from its watermarks. Rows a pass left in step
   * and rows to retry are not stored: the first pass looks them up again. False when
   * the database could not be read; memory is then left as it is.
   */
  async load(remotes: readonly string[]): Promise<boolean> {
    const rows = await this.attempt(async (client) => (await client.query<EntityStateRow>(`SELECT remote, entity, mark, reconciled_at FROM ${this.config.schema}.entity_state WHERE remote = ANY($1)`, [remotes])).rows);
    if (rows === undefined) return false;
    for (const row of rows) {
      this.memory.set(row.remote, row.entity, { mark: row.mark?.getTime() ?? null, reconciledAt: row.reconciled_at.getTime(), inStep: new Map(), retry: new Map() });
      this.unwritten.delete(`${row.remote} ${row.entity}`);
    }
    return true;
  }

  /** Writes what changed since the last write, if the database can be written; kept for the next try if not. */
  async flush(): Promise<void> {
    if (this.unwritten.size === 0) return;
    const pending = [...this.unwritten.entries()];
    const rows = pending.flatMap(([, { remote, entity }]) => {
      const state = this.memory.get(remote, entity);
      // A first reconciliation still running is not stored: a restart reconciles again.
      return state && state.reconciledAt !== null ? [[remote, entity, state.mark === null ? null : new Date(state.mark), new Date(state.reconciledAt)] as const] : [];
    });
    const written = await this.attempt((client) =>
      client.query(
        `INSERT INTO ${this.config.schema}.entity_state (remote, entity, mark, reconciled_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[])
         ON CONFLICT (remote, entity) DO UPDATE SET mark = excluded.mark, reconciled_at = excluded.reconciled_at, updated_at = now()`,
        [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])],
      ),
    );
    if (written === undefined) return;
    // Only what was written: a pass may have changed more meanwhile.
    for (const [key, { change }] of pending) if (this.unwritten.get(key)?.change === change) this.unwritten.delete(key);
  }

  /** Adds a pass to the history and drops those older than history-retention. */
  async recordPass(pass: Omit<StoredPass, 'sidecar'>): Promise<void> {
    const { schema, historyRetentionMs } = this.config;
    await this.attempt(async (client) => {
      await client.query(`INSERT INTO ${schema}.passes (remote, kind, started_at, finished_at, ok, entities, error, sidecar) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
        pass.remote,
        pass.kind,
        pass.start,
        pass.end,
        pass.ok,
        JSON.stringify(pass.entities),
        pass.error,
        this.sidecar,
      ]);
      await client.query(`DELETE FROM ${schema}.passes WHERE finished_at < now() - $1 * interval '1 millisecond'`, [historyRetentionMs]);
    });
  }

  /** The latest passes of every sidecar of this schema, newest first; empty when the database cannot be read. */
  async recentPasses(limit: number): Promise<StoredPass[]> {
    const rows = await this.attempt(
      async (client) =>
        (
          await client.query<{ remote: string; kind: PassKind; started_at: Date; finished_at: Date; ok: boolean; entities: EntityResult[]; error: string | null; sidecar: string }>(
            `SELECT remote, kind, started_at, finished_at, ok, entities, error, sidecar FROM ${this.config.schema}.passes ORDER BY finished_at DESC, id DESC LIMIT $1`,
            [limit],
          )
        ).rows,
    );
    return (rows ?? []).map((row) => ({ remote: row.remote, kind: row.kind, start: row.started_at.toISOString(), end: row.finished_at.toISOString(), ok: row.ok, entities: row.entities, error: row.error, sidecar: row.sidecar }));
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  /**
   * Runs `work` on a pooled connection once the schema is migrated; undefined when the
   * database could not be reached or written. Logs once when it goes away and once
   * when it is back, never per statement.
   */
  private async attempt<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T | undefined> {
    if (!this.available && Date.now() < this.retryAt) return undefined;
    let client: pg.PoolClient | undefined;
    try {
      client = await this.pool.connect();
      if (!this.migrated) {
        const applied = await migrate(client, this.config.schema, this.sidecar);
        this.migrated = true;
        this.log.info({ database: this.config.describe, schema: this.config.schema, applied }, applied.length > 0 ? 'state database: schema migrated' : 'state database: schema up to date');
      }
      const result = await work(client);
      if (!this.available) this.log.info({ database: this.config.describe }, 'state database in use');
      this.available = true;
      return result;
    } catch (error) {
      const failure = stateDatabaseError(this.config, error);
      if (this.available || this.lastError === 'not connected yet') this.log.warn({ err: failure }, 'state database unavailable: the sync state is kept in memory');
      this.available = false;
      this.lastError = failure.message;
      this.retryAt = Date.now() + RETRY_AFTER_MS;
      return undefined;
    } finally {
      client?.release();
    }
  }
}
