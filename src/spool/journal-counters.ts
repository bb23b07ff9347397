import type { DatabaseSync } from 'node:sqlite';

interface Totals {
  commands: number;
  bytes: number;
  /** Bytes of the commands still pending for some server: what max-size refuses new commands by. */
  pendingBytes: number;
  readonly pendingByServer: Map<string, number>;
}

/**
 * The journal's sizes, kept in memory so that /metrics never counts the tables: read
 * once when the journal opens, then changed with every write, and put back when a
 * write's transaction is rolled back.
 */
export class JournalCounters {
  /** The servers a new command is pending for, as configured. */
  readonly servers: readonly string[];
  private totals: Totals;

  private constructor(servers: readonly string[], totals: Totals) {
    this.servers = servers;
    this.totals = totals;
  }

  static read(db: DatabaseSync, servers: readonly string[]): JournalCounters {
    const all = db.prepare('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b, coalesce(sum(CASE WHEN pending_servers > 0 THEN bytes END), 0) AS pb FROM commands').get()!;
    const pendingByServer = new Map(servers.map((server) => [server, 0]));
    for (const row of db.prepare('SELECT server, count(*) AS n FROM pending GROUP BY server').all()) pendingByServer.set(row.server as string, row.n as number);
    return new JournalCounters(servers, { commands: all.n as number, bytes: all.b as number, pendingBytes: all.pb as number, pendingByServer });
  }

  get commands(): number {
    return this.totals.commands;
  }

  get bytes(): number {
    return this.totals.bytes;
  }

  get pendingBytes(): number {
    return this.totals.pendingBytes;
  }

  pendingOf(server: string): number {
    return this.totals.pendingByServer.get(server) ?? 0;
  }

  snapshot(): Totals {
    return { ...this.totals, pendingByServer: new Map(this.totals.pendingByServer) };
  }

  restore(snapshot: Totals): void {
    this.totals = snapshot;
  }

  /** A command journaled, pending for every server (when there is one). */
  added(bytes: number, pending: boolean): void {
    this.totals.commands += 1;
    this.totals.bytes += bytes;
    if (!pending) return;
    this.totals.pendingBytes += bytes;
    for (const server of this.servers) this.totals.pendingByServer.set(server, this.pendingOf(server) + 1);
  }

  /** A command no longer pending for `server`; `freedBytes`: its bytes when it was the last server. */
  settled(server: string, freedBytes: number): void {
    this.totals.pendingByServer.set(server, this.pendingOf(server) - 1);
    this.totals.pendingBytes -= freedBytes;
  }

  removed(commands: number, bytes: number, pendingBytes: number, pendingByServer: readonly (readonly [string, number])[]): void {
    this.totals.commands -= commands;
    this.totals.bytes -= bytes;
    this.totals.pendingBytes -= pendingBytes;
    for (const [server, count] of pendingByServer) this.totals.pendingByServer.set(server, this.pendingOf(server) - count);
  }
}
