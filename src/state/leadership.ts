/**
 * The leader election among sidecars of one PuppetDB database: the sidecar holding
 * the schema's PostgreSQL advisory lock leads and syncs; the others stand by and try
 * for the lock every `pollMs`.
 *
 * The lock lives as long as the session that took it. A leader that dies (SIGKILL)
 * closes its socket, and PostgreSQL frees the lock at once. A leader cut off from the
 * database sends no more heartbeats: its session is idle, and PostgreSQL ends it after
 * `idle_session_timeout` (set by the session itself) and frees the lock. The leader
 * itself stops as soon as a heartbeat fails or the connection ends, which is before
 * that timeout (heartbeat interval plus the query timeout is shorter), so two
 * sidecars never sync at once.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { StateConfig } from '../config/types.ts';
import { SyncError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { clientConfig, LOCK_CLASS, lockObject, stateDatabaseError } from './database.ts';

export type Role = 'leader' | 'standby';

export interface LeadershipTiming {
  /** A standby tries for the lock this often. */
  readonly pollMs: number;
  /** The leader checks its session this often; a check unanswered within this also fails. */
  readonly heartbeatMs: number;
  /** PostgreSQL ends a session idle this long, freeing its lock: more than twice heartbeatMs. */
  readonly idleSessionMs: number;
}

/** A standby leads within pollMs + idleSessionMs of the leader's loss: under 10 s. */
export const LEADERSHIP_TIMING: LeadershipTiming = { pollMs: 2_000, heartbeatMs: 1_000, idleSessionMs: 5_000 };

export interface LeadershipEvents {
  /** This sidecar now leads; resolves once it has taken up the work. */
  elected(): Promise<void>;
  /** This sidecar no longer leads (its session failed): stop transferring at once. */
  deposed(reason: SyncError): void;
}

export interface LeadershipStatus {
  readonly role: Role;
  /** Whether some sidecar holds the lock, as the database last showed; null when it could not be asked. */
  readonly leaderPresent: boolean | null;
  /** Whether this sidecar's session reaches the database. */
  readonly databaseReachable: boolean;
}

export class Leadership {
  private readonly config: StateConfig;
  private readonly log: Logger;
  private readonly events: LeadershipEvents;
  private readonly timing: LeadershipTiming;
  private readonly keys: [number, number];
  private readonly stopping = new AbortController();
  private role: Role = 'standby';
  private leaderPresent: boolean | null = null;
  private reachable = false;
  /** Whether the database's absence has been logged since it was last reached. */
  private warned = false;
  private looping: Promise<void> | undefined;

  constructor(config: StateConfig, log: Logger, events: LeadershipEvents, timing: LeadershipTiming = LEADERSHIP_TIMING) {
    this.config = config;
    this.log = log;
    this.events = events;
    this.timing = timing;
    this.keys = [LOCK_CLASS, lockObject('leader', config.schema)];
  }

  status(): LeadershipStatus {
    return { role: this.role, leaderPresent: this.role === 'leader' ? true : this.leaderPresent, databaseReachable: this.reachable };
  }

  start(): void {
    this.looping ??= this.loop();
  }

  /** Gives the lock up (a standby may lead at once) and ends the session. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.looping;
  }

  private async loop(): Promise<void> {
    const { signal } = this.stopping;
    while (!signal.aborted) {
      await this.session().catch((error: unknown) => this.unreachable(error));
      await sleep(this.timing.pollMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /** One session: stand by, lead once the lock is ours, until the session fails or the sidecar stops. */
  private async session(): Promise<void> {
    const client = new pg.Client(clientConfig(this.config, this.timing.heartbeatMs * 2));
    const ended = new AbortController();
    const lose = (why: string) => ended.abort(why);
    client.on('error', (error) => lose(error.message));
    client.on('end', () => lose('the connection ended'));
    try {
      await client.connect();
      // PostgreSQL 14 and later; before, a leader cut off keeps the lock until TCP gives the session up.
      await client
        .query(`SET idle_session_timeout = ${Number(this.timing.idleSessionMs)}`)
        .catch((error: unknown) => this.log.warn({ err: stateDatabaseError(this.config, error) }, 'state database: idle_session_timeout refused (PostgreSQL before 14): failover after a network cut waits for TCP'));
      if (!this.reachable) this.log.info({ database: this.config.describe }, 'state database reached: standing by for the lead');
      this.reachable = true;
      this.warned = false;
      const signal = AbortSignal.any([this.stopping.signal, ended.signal]);
      while (!signal.aborted) {
        if (await this.tryLock(client)) {
          await this.lead(client, signal);
          return;
        }
        await sleep(this.timing.pollMs, undefined, { signal }).catch(() => undefined);
      }
      if (ended.signal.aborted) throw new Error(String(ended.signal.reason));
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async tryLock(client: pg.Client): Promise<boolean> {
    const { rows } = await client.query<{ locked: boolean; held: boolean }>(
      `SELECT pg_try_advisory_lock($1, $2) AS locked,
              EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::int4::oid AND objid = $2::int4::oid AND objsubid = 2 AND granted) AS held`,
      this.keys,
    );
    this.leaderPresent = rows[0]!.held;
    return rows[0]!.locked;
  }

  /** Leads until a heartbeat fails, the session ends or the sidecar stops; then lets go. */
  private async lead(client: pg.Client, signal: AbortSignal): Promise<void> {
    this.role = 'leader';
    this.log.info({ database: this.config.describe, schema: this.config.schema }, 'leading: this sidecar syncs');
    await this.events.elected();
    let failure: string | undefined;
    while (!signal.aborted && failure === undefined) {
      await sleep(this.timing.heartbeatMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      failure = await client.query('SELECT 1').then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
    }
    this.role = 'standby';
    if (this.stopping.signal.aborted && failure === undefined) {
      await client.query('SELECT pg_advisory_unlock($1, $2)', this.keys).catch(() => undefined);
      return;
    }
    const reason = new SyncError('PDBSYNC_ERR_LEADERSHIP_LOST', `${this.config.describe}: ${failure ?? String(signal.reason)}`);
    this.reachable = false;
    this.log.warn({ err: reason }, 'no longer leading: passes stopped');
    this.events.deposed(reason);
  }

  private unreachable(error: unknown): void {
    if (this.reachable || !this.warned) {
      this.log.warn({ err: stateDatabaseError(this.config, error) }, 'state database unreachable: this sidecar cannot lead');
    }
    this.warned = true;
    this.reachable = false;
    this.leaderPresent = null;
  }
}
