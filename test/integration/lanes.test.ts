import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { eventually, freePort, iso, plainReport, query, startCli, submit, writeConfig, type Sidecar } from './pdb.ts';

// B pulls from A while A holds a backlog B lacks: B's start reconciliation moves it one
// record at a time (concurrency 1), and records written on A meanwhile must not wait
// for it: the incremental passes beside it pull them within their interval.
const [serverA, serverB] = inject('pdbServers') as [string, string];
const prefix = `lanes-${Date.now().toString(36)}`;
const BACKLOG = 300;
const INTERVAL_S = 2;

const factset = (certname: string, at: number) => ({
  certname,
  environment: 'production',
  producer_timestamp: iso(at),
  producer: 'puppet.example.net',
  values: { role: 'lanes', at: String(at) },
});

const reconciliationEnded = (sidecar: Sidecar) => sidecar.logs.some((line) => line.phase === 'sync' && line.kind === 'reconcile' && line.sync_event !== 'start');
/** Backlog records on B: the incremental lane also pulls those the remote received within the overlap of the first watermark. */
const backlogMoved = (sidecar: Sidecar) =>
  new Set(sidecar.logs.filter((line) => line.phase === 'record' && line.sync_event === 'finished' && String(line.certname).startsWith(`${prefix}-backlog-`)).map((line) => line.certname)).size;

describe('run: a reconciliation and incremental passes side by side', () => {
  let sidecar: Sidecar;
  let api: string;

  beforeAll(async () => {
    const at = Date.now() - 60_000;
    for (let i = 0; i < BACKLOG; i += 25) {
      await Promise.all(Array.from({ length: Math.min(25, BACKLOG - i) }, (_, j) => submit(serverA, 'replace_facts', 5, factset(`${prefix}-backlog-${i + j}`, at))));
    }
    await waitForQueueDrained(serverA);
    // A record received past the overlap below after the backlog: the first watermark is
    // its receive time, so the backlog is the reconciliation's alone, as after an outage.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await submit(serverA, 'replace_facts', 5, factset(`${prefix}-marker`, Date.now()));
    await waitForQueueDrained(serverA);
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    const config = writeConfig(serverB, [serverA], '  concurrency: 1\n  watermark-overlap: 1s\n', { interval: `${INTERVAL_S}s`, outside: `http: { port: ${port} }` });
    sidecar = startCli(['run', '--config', config, '--log-level', 'debug']);
  });

  afterAll(async () => {
    sidecar?.signal('SIGTERM');
    await sidecar?.exited;
  });

  it('pulls a factset and a report written on the remote during the reconciliation within the interval', async () => {
    await eventually(() => backlogMoved(sidecar) >= 10, 120_000, 'the reconciliation moving the backlog');
    const live = `${prefix}-live`;
    // From their submission to A: A's processing of the two commands is counted too.
    const written = Date.now();
    await submit(serverA, 'replace_facts', 5, factset(live, written));
    await submit(serverA, 'store_report', 8, plainReport(live, written, 'lanes'));
    const mine = ['=', 'certname', live];
    await eventually(
      async () => (await query(serverB, ['from', 'factsets', mine])).length === 1 && (await query(serverB, ['from', 'reports', mine])).length === 1,
      60_000,
      'the live factset and report on B',
    );
    const tookS = (Date.now() - written) / 1000;
    const moved = backlogMoved(sidecar);
    console.log(`live records on B ${tookS.toFixed(1)} s after they were submitted to A, with ${moved} of ${BACKLOG} backlog records moved by the reconciliation`);
    expect(reconciliationEnded(sidecar), 'the reconciliation still runs').toBe(false);
    expect(moved).toBeLessThan(BACKLOG);
    // An interval, the pass that reads it, and PuppetDB processing the two commands on each side, on a loaded machine.
    expect(tookS).toBeLessThan(INTERVAL_S + 15);
    const status = (await (await fetch(`${api}/status`)).json()) as { remotes: Array<Record<string, any>> };
    expect(status.remotes[0]).toMatchObject({ state: expect.any(String), lagSeconds: null, reconciliation: { state: 'running' }, lastPass: { kind: 'incremental', ok: true } });
  });

  it('completes the reconciliation, after which the remote has a lag', async () => {
    await eventually(() => reconciliationEnded(sidecar), 300_000, 'the reconciliation ended');
    expect(backlogMoved(sidecar)).toBe(BACKLOG);
    const onB = await query(serverB, ['from', 'factsets', ['extract', [['function', 'count']], ['~', 'certname', `^${prefix}-backlog-`]]]);
    expect(onB[0]!.count).toBe(BACKLOG);
    const status = (await (await fetch(`${api}/status`)).json()) as { remotes: Array<Record<string, any>> };
    expect(status.remotes[0]).toMatchObject({ lastReconcile: expect.any(String), lagSeconds: expect.any(Number), reconciliation: { lastPass: { kind: 'reconcile', ok: true } } });
  });
});
