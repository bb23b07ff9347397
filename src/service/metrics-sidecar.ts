import { Gauge, type Registry } from 'prom-client';
import type { ServerStatus, SidecarStatus } from './status.ts';

/**
 * The gauges of the sidecar's role and state database, read from `sidecar` at each
 * scrape: a standby with no leader anywhere, or a state database gone, can be alerted on.
 */
export function registerSidecarGauges(registry: Registry, prefix: string, sidecar: () => SidecarStatus, servers: () => readonly ServerStatus[]): void {
  const registers = [registry];
  new Gauge({
    name: `${prefix}server_info`,
    help: 'Always 1: each PuppetDB server the sidecar talks to (local or remote) and the version it gave ("unknown" when it gave none); absent until asked.',
    labelNames: ['server', 'role', 'version'] as const,
    registers,
    collect: function (this: Gauge<'server' | 'role' | 'version'>) {
      this.reset();
      for (const server of servers()) if (server.version !== null) this.set({ server: server.url, role: server.role, version: server.version }, 1);
    },
  });
  new Gauge({
    name: `${prefix}leader`,
    help: 'Whether this sidecar syncs (1: it leads, or runs without leader election) or stands by (0).',
    registers,
    collect: function (this: Gauge) {
      this.set(sidecar().role === 'standby' ? 0 : 1);
    },
  });
  new Gauge({
    name: `${prefix}leader_present`,
    help: 'Whether some sidecar of the state database leads (1) or none does (0), as the database last showed; absent without leader election or while the database cannot be asked.',
    registers,
    collect: function (this: Gauge) {
      const present = sidecar().leaderPresent;
      // remove(), not reset(): prom-client resets an unlabelled gauge to 0, not to absent.
      if (present === null) this.remove();
      else this.set(present ? 1 : 0);
    },
  });
  new Gauge({
    name: `${prefix}state_database_up`,
    help: 'Whether the state database is in use (1), or cannot be reached or written (0: a single sidecar keeps its state in memory, a sidecar with leader election cannot lead); absent without a state block.',
    registers,
    collect: function (this: Gauge) {
      const database = sidecar().stateDatabase;
      if (database === null) this.remove();
      else this.set(database.available ? 1 : 0);
    },
  });
}
