import { createServer, request, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { promtool } from '../unit/service/promtool.ts';
import { eventually, freePort, plainReport, runCli, startCli, submit, syncInto, writeConfig, type Sidecar } from './pdb.ts';

const [serverA, serverB] = inject('pdbServers') as [string, string];
const prefix = `pg-${Date.now().toString(36)}`;
const HOUR_MS = 3600_000;
/** Each request to the remote waits this long: at one record at a time, about 8 records a second. */
const DELAY_MS = 100;
const SETTINGS = '  concurrency: 1\n  progress-interval: 1s\n';

/** `count` reports of ten nodes of this test, an hour apart, all new to every server. */
async function reportsOnA(batch: string, count: number): Promise<void> {
  const base = Date.now() - 2 * HOUR_MS;
  for (let i = 0; i < count; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, j) => submit(serverA, 'store_report', 8, plainReport(`${prefix}-${(i + j) % 10}`, base - (i + j) * 60_000, `${batch}-${i + j}`))));
  }
  await waitForQueueDrained(serverA);
}

/** serverA behind a proxy that holds every request DELAY_MS: a remote slow enough for a reconciliation to last. */
function slowProxy(): Promise<{ url: string; server: Server }> {
  const target = new URL(serverA);
  const server = createServer((incoming, outgoing) => {
    setTimeout(() => {
      const forward = request({ host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      });
      forward.on('error', () => outgoing.destroy());
      incoming.pipe(forward);
    }, DELAY_MS);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server })));
}

type Line = Record<string, unknown>;
/** The reconciliation's lines of reports: `run` may run an incremental pass beside it. */
const reconcilingReports = (line: Line) => line.phase === 'entity' && line.sync_entity === 'reports' && line.kind === 'reconcile';
const reportProgress = (logs: readonly Line[]) => logs.filter((line) => reconcilingReports(line) && line.sync_event === 'progress');
const reportsFinished = (logs: readonly Line[]) => logs.find((line) => reconcilingReports(line) && line.sync_event === 'finished');

const RECONCILING_REPORTS_DONE = /^pdbsync_progress_records_done\{[^}]*entity="reports",kind="reconcile"\} /m;

describe('progress of a long reconciliation, on real PuppetDBs', () => {
  let proxy: { url: string; server: Server };

  beforeAll(async () => {
    // serverB first holds what serverA holds: the reports of this test are then all that differs.
    await syncInto(serverB, serverA);
    proxy = await slowProxy();
  });

  afterAll(() => {
    proxy.server.close();
    proxy.server.closeAllConnections();
  });

  it('run: logs, /status and /metrics show records done, to do, rate and ETA while it runs, and drop it at its end', async () => {
    await reportsOnA('run', 150);
    const port = await freePort();
    const api = `http://127.0.0.1:${port}`;
    const sidecar: Sidecar = startCli(['run', '--config', writeConfig(serverB, [proxy.url], SETTINGS, { interval: '1h', outside: `http: { port: ${port} }` })]);
    const statuses: Array<Record<string, unknown>> = [];
    const scrapes: string[] = [];
    try {
      await eventually(async () => {
        const [status, metrics] = await Promise.all([
          fetch(`${api}/status`).then((response) => response.json() as Promise<{ remotes: Array<{ progress: Array<Record<string, unknown>> }> }>, () => undefined),
          fetch(`${api}/metrics`).then((response) => response.text(), () => ''),
        ]);
        const reports = status?.remotes[0]?.progress.find((entity) => entity.entity === 'reports' && entity.kind === 'reconcile');
        if (reports) statuses.push(reports);
        if (RECONCILING_REPORTS_DONE.test(metrics)) scrapes.push(metrics);
        return reportsFinished(sidecar.logs) !== undefined;
      }, 300_000, 'the reconciliation of reports ends');
      // The reconciliation's series end with it (an incremental pass beside it may still run).
      const after = await (await fetch(`${api}/metrics`)).text();
      expect(after).not.toMatch(RECONCILING_REPORTS_DONE);
      expect(after).toContain('# TYPE pdbsync_progress_records_done gauge');
    } finally {
      sidecar.signal('SIGTERM');
      await sidecar.exited;
    }

    const finished = reportsFinished(sidecar.logs)!;
    expect(finished).toMatchObject({ failed: 0 });
    // Most of the 150: the incremental pass beside the reconciliation may pull some first.
    expect(finished.transferred).toBeGreaterThan(100);
    const lines = reportProgress(sidecar.logs);
    expect(lines.length).toBeGreaterThanOrEqual(5);
    const done = lines.map((line) => line.done as number);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(done.at(-1)!).toBeGreaterThan(done[0]!);
    const last = lines.at(-1)!;
    expect(last).toMatchObject({ remote: proxy.url, kind: 'reconcile', toDo: finished.transferred, toDoComplete: true, parts: 1, partsCompared: 1 });
    expect(last.remoteRows).toBeGreaterThanOrEqual(150);
    // Within the rate's two-minute window from the start: records done over the seconds elapsed, and at most what the slow remote lets through.
    for (const line of lines.filter((line) => (line.elapsed as number) < 120_000)) {
      expect(line.recordsPerSecond).toBeCloseTo((line.done as number) / ((line.elapsed as number) / 1000), 1);
      expect(line.recordsPerSecond).toBeLessThan(1000 / DELAY_MS + 0.5);
    }
    // The ETA is what is left at that rate, a finite number of seconds that falls as records move.
    const timed = lines.filter((line) => (line.recordsPerSecond as number) > 0 && (line.done as number) < (line.toDo as number));
    expect(timed.length).toBeGreaterThanOrEqual(3);
    for (const line of timed) {
      const expected = ((line.toDo as number) - (line.done as number)) / (line.recordsPerSecond as number);
      expect(Number.isFinite(line.etaSeconds)).toBe(true);
      // Rounded up to a second, from the rate before it was rounded for the line.
      expect(Math.abs((line.etaSeconds as number) - expected)).toBeLessThanOrEqual(1 + expected * 0.02);
    }
    expect(timed.at(-1)!.etaSeconds).toBeLessThan(timed[0]!.etaSeconds as number);

    expect(statuses.length).toBeGreaterThanOrEqual(3);
    const seen = statuses.at(-1)!;
    expect(seen).toMatchObject({ kind: 'reconcile', toDo: finished.transferred, toDoComplete: true });
    expect(seen.done).toBeGreaterThan(statuses[0]!.done as number);
    expect(seen.etaSeconds).toEqual(expect.any(Number));

    expect(scrapes.length).toBeGreaterThanOrEqual(2);
    const series = (text: string, name: string) => Number(new RegExp(`^pdbsync_${name}\\{remote="${proxy.url}",entity="reports",kind="reconcile"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    const scraped = scrapes.at(-1)!;
    expect(series(scraped, 'progress_records_to_do')).toBe(finished.transferred);
    expect(series(scraped, 'progress_records_done')).toBeGreaterThan(series(scrapes[0]!, 'progress_records_done'));
    expect(Number.isFinite(series(scraped, 'progress_eta_seconds'))).toBe(true);
    const check = promtool(['check', 'metrics'], { input: scraped });
    expect(check.output).toBe('');
  });

  it('once, its standard error not a terminal: plain progress lines there, JSON progress lines in the log, no bar', async () => {
    await reportsOnA('once', 50);
    const result = await runCli(['once', '--config', writeConfig(serverB, [proxy.url], SETTINGS)]);
    expect(result.code).toBe(0);
    const plain = result.stderr.split('\n').filter((line) => line !== '');
    expect(plain.length).toBeGreaterThanOrEqual(3);
    for (const line of plain) expect(line).toMatch(new RegExp(`^progress ${proxy.url} \\S+ \\((reconcile|incremental)\\): \\d+ of (\\d+|~\\d+|\\?) records, [\\d.]+/s, ETA \\S+; \\d+ of \\d+ parts compared, summary rows read \\d+ remote, \\d+ local$`));
    expect(plain.some((line) => / reports \(reconcile\): \d+ of 50 records/.test(line))).toBe(true);
    expect(result.stderr).not.toContain('\u001b[');
    expect(reportProgress(result.logs).length).toBeGreaterThanOrEqual(3);
    await waitForQueueDrained(serverB);
  });
});
