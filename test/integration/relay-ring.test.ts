import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { eventually, freePort, iso, mixedServers, plainReport, query, startCli, submit, writeConfig, type Sidecar } from './pdb.ts';

/**
 * A ring of three `run` sidecars (A pulls B, B pulls C, C pulls A) on three servers
 * of mixed versions where they are given. Records written after the start
 * reconciliation, on one server only, with a producer_timestamp older than the
 * late-arrival window, reach the other two by incremental passes and relay scans
 * alone (reconcile-interval is 1h): each hop is a late arrival on the server read.
 */

const servers = mixedServers();
const prefix = `relay-${Date.now().toString(36)}`;
const RELAY_SCAN = 10_000;
const BOUND_MS = 90_000;
const mine = ['and', ['=', 'node_state', 'any'], ['~', 'certname', `^${prefix}-`]];

async function stateOf(url: string): Promise<{ factsets: string[]; reports: string[] }> {
  const [factsets, reports] = await Promise.all([
    query(url, ['from', 'factsets', ['extract', ['certname', 'producer_timestamp', 'producer', 'hash'], mine]]),
    query(url, ['from', 'reports', ['extract', ['certname', 'producer_timestamp', 'transaction_uuid'], ['and', mine, ['null?', 'type', false]]]]),
  ]);
  const sorted = (rows: Record<string, unknown>[]) => rows.map((row) => JSON.stringify(row)).sort();
  return { factsets: sorted(factsets), reports: sorted(reports) };
}

interface StatusRemote {
  remote: string;
  lastPass: { ok: boolean } | null;
  lastReconcile: string | null;
}

describe('run: a ring of three sidecars, records older than the late-arrival window written on one server', () => {
  const sidecars: Sidecar[] = [];
  const apis: string[] = [];

  beforeAll(async () => {
    console.log(`relay ring over ${servers.join(' <- ')} <- ${servers[0]}`);
    for (const [i, local] of servers.entries()) {
      const remote = servers[(i + 1) % servers.length]!;
      const port = await freePort();
      apis.push(`http://127.0.0.1:${port}`);
      const extra = `  relay-scan-interval: 10s\n  reconcile-interval: 1h\n`;
      sidecars.push(startCli(['run', '--config', writeConfig(local, [remote], extra, { interval: '5s', outside: `http: { port: ${port}, startup-grace: 0s }` })]));
    }
    // The start reconciliation of every sidecar has ended well: what follows is incremental passes only.
    await eventually(
      async () => {
        for (const api of apis) {
          try {
            const status = (await (await fetch(`${api}/status`)).json()) as { remotes: StatusRemote[] };
            if (!status.remotes.every((remote) => remote.lastReconcile !== null && remote.lastPass?.ok === true)) return false;
          } catch {
            return false;
          }
        }
        return true;
      },
      300_000,
      'every sidecar finished its start reconciliation',
    );
  });

  afterAll(async () => {
    for (const sidecar of sidecars) sidecar.signal('SIGTERM');
    await Promise.all(sidecars.map((sidecar) => sidecar.exited));
  });

  it('brings them to every server within a few relay scans', async () => {
    const origin = servers[0];
    const old = Date.now() - 3 * 3600_000;
    for (let i = 0; i < 3; i++) await submit(origin, 'store_report', 8, plainReport(`${prefix}-node-${i}`, old + i * 60_000, `ring-${i}`));
    await submit(origin, 'replace_facts', 5, { certname: `${prefix}-node-0`, environment: 'production', producer_timestamp: iso(old), producer: 'puppet.example.net', values: { role: 'relayed' } });
    await waitForQueueDrained(origin);
    const written = Date.now();
    const expected = await stateOf(origin);
    expect(expected.reports).toHaveLength(3);
    expect(expected.factsets).toHaveLength(1);

    await eventually(
      async () => {
        const states = await Promise.all(servers.map(stateOf));
        return states.every((state) => JSON.stringify(state) === JSON.stringify(expected));
      },
      BOUND_MS,
      `every server holds the ${prefix} records of ${origin}`,
    );
    const tookMs = Date.now() - written;
    console.log(`relay ring converged ${tookMs} ms after the write (relay-scan-interval ${RELAY_SCAN} ms, interval 5 s)`);
    for (const sidecar of sidecars) {
      expect(sidecar.logs.some((line) => line.level === 'fatal')).toBe(false);
    }
  });

  it('stops on SIGTERM with exit status 0', async () => {
    const stopping = sidecars.splice(0);
    for (const sidecar of stopping) sidecar.signal('SIGTERM');
    expect(await Promise.all(stopping.map((sidecar) => sidecar.exited))).toEqual([0, 0, 0]);
  });
});
