import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { SyncError } from '../errors.ts';
import { JournalCounters } from './journal-counters.ts';
import { journalError, journalFile, openDatabase, ROW_OVERHEAD_BYTES, SCHEMA, toCommand } from './journal-schema.ts';
import type { JournalAccess, JournaledCommand, SettleReason } from './spool-types.ts';

export interface JournalBounds {
  readonly maxBytes: number;
  readonly maxAgeMs: number;
}
export type NewCommand = Omit<JournaledCommand, 'id' | 'uuid' | 'receivedAt'>;
export interface PendingStats {
  readonly commands: number;
  readonly oldestReceivedAt: number | null;
}
export interface JournalStats {
  readonly commands: number;
  readonly bytes: number;
  readonly oldestReceivedAt: number | null;
  /** By server URL (as configured, normalised). */
  readonly pending: ReadonlyMap<string, PendingStats>;
}
export interface JournalEvents {
  /** Commands removed by the bounds while still pending for some server. */
  dropped(reason: 'max-age' | 'max-size', count: number): void;
}

export { JOURNAL_FILE } from './journal-schema.ts';

/** Settled commands read per step while making room: each is a few bytes of index. */
const EVICTION_STEP = 256;

interface Waiting {
  readonly command: NewCommand;
  readonly digest: Buffer;
  readonly receivedAt: number;
  readonly resolve: (uuid: string) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The spool's journal: SQLite (node:sqlite) in WAL mode with synchronous=FULL, so a
 * committed transaction is on disk before `append` resolves. Appends are committed
 * in groups: every append made while the event loop was busy (with the previous
 * commit, or reading requests) goes into the next transaction, one fsync for all.
 * Measured here (2 cores shared, load 5-9, ext4 on virtio): one append of 2 KB
 * alone, commit and fsync included, 2-4 ms at p50 and 9-16 ms at p99; a group of 100
 * 18-20 ms; 50 concurrent writers of 2 KB commands about 5,600-6,000 commands/s. A
 * settle is its own transaction: 2.4-3 ms. stats() 0.01 ms with 20,000 commands.
 *
 * `spool replay` reads the same file while the spool runs (WAL: readers do not block
 * the writer); a second spool on one folder is for systemd's unit to prevent.
 */
export class Journal implements JournalAccess {
  private readonly db: DatabaseSync;
  private readonly bounds: JournalBounds;
  private readonly events: JournalEvents;
  private readonly now: () => number;
  private readonly counters: JournalCounters;
  private readonly statements: ReturnType<typeof prepare>;
  private queue: Waiting[] = [];
  private flushScheduled = false;
  private lastFailure: Error | undefined;

  private constructor(db: DatabaseSync, servers: readonly string[], bounds: JournalBounds, events: JournalEvents, now: () => number) {
    this.db = db;
    this.bounds = bounds;
    this.events = events;
    this.now = now;
    this.statements = prepare(db);
    this.counters = JournalCounters.read(db, servers);
  }

  /**
   * Opens or creates the journal in `dir` and checks it (PRAGMA quick_check). A command
   * journaled from now on is pending for each of `servers`; pending rows of servers no
   * longer configured are removed. Throws PDBSYNC_ERR_SPOOL_JOURNAL when it cannot be
   * opened or is damaged.
   */
  static open(dir: string, servers: readonly string[], bounds: JournalBounds, events: JournalEvents, now: () => number = Date.now): Journal {
    const file = journalFile(dir);
    let db: DatabaseSync | undefined;
    try {
      mkdirSync(dir, { recursive: true, mode: 0o750 });
      db = openDatabase(file);
      db.exec(SCHEMA);
      forgetServersNotIn(db, servers);
      return new Journal(db, servers, bounds, events, now);
    } catch (error) {
      db?.close();
      throw journalError(error, `opening the journal ${file}`);
    }
  }

  get failure(): Error | undefined {
    return this.lastFailure;
  }

  append(command: NewCommand): Promise<string> {
    const digest = createHash('sha256').update(command.body).digest();
    return new Promise((resolve, reject) => {
      this.queue.push({ command, digest, receivedAt: this.now(), resolve, reject });
      if (this.flushScheduled) return;
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    });
  }

  /** Commits every append waiting, in one transaction. */
  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const answers: { waiting: Waiting; uuid?: string; refused?: Error }[] = [];
    const before = this.counters.snapshot();
    try {
      this.db.exec('BEGIN IMMEDIATE');
      for (const waiting of batch) answers.push({ waiting, ...this.insert(waiting) });
      this.db.exec('COMMIT');
      this.lastFailure = undefined;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      this.counters.restore(before);
      const failure = journalError(error, `journaling ${batch.length} command(s)`);
      this.lastFailure = failure;
      for (const waiting of batch) waiting.reject(failure);
      return;
    }
    for (const { waiting, uuid, refused } of answers) {
      if (uuid !== undefined) waiting.resolve(uuid);
      else waiting.reject(refused!);
    }
  }

  private insert({ command, digest, receivedAt }: Waiting): { uuid: string } | { refused: Error } {
    const { command: name, version, certname, producerTimestamp, encoding, body } = command;
    const earlier = this.statements.identity.get(name, version, certname, producerTimestamp, encoding, digest);
    if (earlier) return { uuid: earlier.uuid as string };
    const bytes = body.length + ROW_OVERHEAD_BYTES;
    if (this.counters.pendingBytes + bytes > this.bounds.maxBytes) {
      return { refused: new SyncError('PDBSYNC_ERR_SPOOL_FULL', `${this.counters.pendingBytes} bytes of commands are pending delivery; ${bytes} more would pass spool.max-size (${this.bounds.maxBytes})`) };
    }
    this.evictSettled(this.counters.bytes + bytes - this.bounds.maxBytes);
    const uuid = randomUUID();
    const servers = this.counters.servers;
    const { id } = this.statements.insert.get(uuid, receivedAt, name, version, certname, producerTimestamp, encoding, digest, bytes, servers.length, body)!;
    for (const server of servers) this.statements.addPending.run(id as number, server, receivedAt);
    this.counters.added(bytes, servers.length > 0);
    return { uuid };
  }

  /** Removes settled commands, oldest first, until `needed` bytes are free (none when needed ≤ 0). */
  private evictSettled(needed: number): void {
    const lastId = this.oldestCovering(needed, this.statements.settledOldest);
    if (lastId > 0) this.remove('pending_servers = 0 AND id <= ?', [lastId]);
  }

  /** The id up to which the rows `oldest` lists (oldest first) hold `needed` bytes, or all of them; 0 for none. */
  private oldestCovering(needed: number, oldest: StatementSync): number {
    let freed = 0;
    let lastId = 0;
    while (freed < needed) {
      const rows = oldest.all(lastId, EVICTION_STEP);
      if (rows.length === 0) break;
      for (const row of rows) {
        lastId = row.id as number;
        freed += row.bytes as number;
        if (freed >= needed) break;
      }
    }
    return lastId;
  }

  /**
   * Applies the bounds now: commands journaled longer ago than max-age are removed,
   * pending or not; then, if the journal is over max-size (the bound was lowered),
   * settled commands first and then pending ones, oldest first. Pending ones removed
   * are told to `events.dropped`.
   */
  prune(): void {
    const dropped: ['max-age' | 'max-size', number][] = [];
    this.write('pruning the journal', () => {
      dropped.push(['max-age', this.remove('received_at < ?', [this.now() - this.bounds.maxAgeMs])]);
      this.evictSettled(this.counters.bytes - this.bounds.maxBytes);
      const lastId = this.oldestCovering(this.counters.bytes - this.bounds.maxBytes, this.statements.oldest);
      if (lastId > 0) dropped.push(['max-size', this.remove('id <= ?', [lastId])]);
    });
    // Told once committed: a prune rolled back dropped nothing.
    for (const [reason, count] of dropped) if (count > 0) this.events.dropped(reason, count);
  }

  /** Deletes the commands `where` selects; returns how many of them were still pending. */
  private remove(where: string, params: SQLInputValue[]): number {
    const selected = `SELECT id FROM commands WHERE ${where}`;
    const perServer = this.db.prepare(`SELECT server, count(*) AS n FROM pending WHERE command_id IN (${selected}) GROUP BY server`).all(...params);
    const totals = this.db
      .prepare(`SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b, coalesce(sum(CASE WHEN pending_servers > 0 THEN bytes END), 0) AS pb, coalesce(sum(pending_servers > 0), 0) AS pn FROM commands WHERE ${where}`)
      .get(...params)!;
    if ((totals.n as number) === 0) return 0;
    this.db.prepare(`DELETE FROM pending WHERE command_id IN (${selected})`).run(...params);
    this.db.prepare(`DELETE FROM commands WHERE ${where}`).run(...params);
    this.counters.removed(totals.n as number, totals.b as number, totals.pb as number, perServer.map((row) => [row.server as string, row.n as number]));
    return totals.pn as number;
  }

  settle(id: number, server: string, _reason: SettleReason): void {
    this.write(`settling command ${id} for ${server}`, () => {
      if (this.statements.removePending.run(id, server).changes === 0) return;
      const row = this.statements.decrementPending.get(id);
      this.counters.settled(server, row !== undefined && row.pending_servers === 0 ? (row.bytes as number) : 0);
    });
  }

  due(server: string, receivedBefore: number, limit: number): JournaledCommand[] {
    return this.read(`reading the commands due for ${server}`, () => this.statements.due.all(server, receivedBefore, limit).map(toCommand));
  }

  since(receivedFrom: number, afterId: number, limit: number): JournaledCommand[] {
    return this.read('reading the journal', () => this.statements.since.all(afterId, receivedFrom, limit).map(toCommand));
  }

  /** Read at every /metrics scrape: counters kept in memory, and indexed minimums. */
  stats(): JournalStats {
    const oldestOf = (value: SQLInputValue | undefined) => (typeof value === 'number' ? value : null);
    return this.read('reading the journal statistics', () => {
      const pending = new Map<string, PendingStats>();
      for (const server of this.counters.servers) {
        pending.set(server, { commands: this.counters.pendingOf(server), oldestReceivedAt: oldestOf(this.statements.oldestPending.get(server)?.oldest) });
      }
      return { commands: this.counters.commands, bytes: this.counters.bytes, oldestReceivedAt: oldestOf(this.statements.oldestReceived.get()?.oldest), pending };
    });
  }

  /** Commits the appends still waiting, then closes the database (its WAL is checkpointed into the file). */
  close(): void {
    if (!this.db.isOpen) return;
    this.flush();
    this.db.close();
  }

  private write(what: string, change: () => void): void {
    const before = this.counters.snapshot();
    try {
      this.db.exec('BEGIN IMMEDIATE');
      change();
      this.db.exec('COMMIT');
      this.lastFailure = undefined;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      this.counters.restore(before);
      this.lastFailure = journalError(error, what);
      throw this.lastFailure;
    }
  }

  private read<T>(what: string, query: () => T): T {
    try {
      return query();
    } catch (error) {
      this.lastFailure = journalError(error, what);
      throw this.lastFailure;
    }
  }
}

function prepare(db: DatabaseSync) {
  const columns = 'c.id, c.uuid, c.received_at, c.command, c.version, c.certname, c.producer_timestamp, c.encoding, c.body';
  const statement = (sql: string): StatementSync => db.prepare(sql);
  return {
    identity: statement('SELECT uuid FROM commands WHERE command = ? AND version = ? AND certname = ? AND producer_timestamp = ? AND encoding = ? AND digest = ?'),
    insert: statement(
      'INSERT INTO commands (uuid, received_at, command, version, certname, producer_timestamp, encoding, digest, bytes, pending_servers, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id',
    ),
    addPending: statement('INSERT INTO pending (command_id, server, received_at) VALUES (?, ?, ?)'),
    removePending: statement('DELETE FROM pending WHERE command_id = ? AND server = ?'),
    decrementPending: statement('UPDATE commands SET pending_servers = pending_servers - 1 WHERE id = ? RETURNING pending_servers, bytes'),
    settledOldest: statement('SELECT id, bytes FROM commands WHERE pending_servers = 0 AND id > ? ORDER BY id LIMIT ?'),
    oldest: statement('SELECT id, bytes FROM commands WHERE id > ? ORDER BY id LIMIT ?'),
    due: statement(`SELECT ${columns} FROM pending p JOIN commands c ON c.id = p.command_id WHERE p.server = ? AND p.received_at < ? ORDER BY p.received_at, p.command_id LIMIT ?`),
    since: statement(`SELECT ${columns} FROM commands c WHERE c.id > ? AND c.received_at >= ? ORDER BY c.id LIMIT ?`),
    oldestPending: statement('SELECT min(received_at) AS oldest FROM pending WHERE server = ?'),
    oldestReceived: statement('SELECT min(received_at) AS oldest FROM commands'),
  };
}

/** Pending rows of servers no longer configured: those servers are no longer the spool's to fill. */
function forgetServersNotIn(db: DatabaseSync, servers: readonly string[]): void {
  const known = new Set(servers);
  const stale = db
    .prepare('SELECT DISTINCT server FROM pending')
    .all()
    .map((row) => row.server as string)
    .filter((server) => !known.has(server));
  if (stale.length === 0) return;
  db.exec('BEGIN IMMEDIATE');
  for (const server of stale) {
    db.prepare('UPDATE commands SET pending_servers = pending_servers - 1 WHERE id IN (SELECT command_id FROM pending WHERE server = ?)').run(server);
    db.prepare('DELETE FROM pending WHERE server = ?').run(server);
  }
  db.exec('COMMIT');
}
