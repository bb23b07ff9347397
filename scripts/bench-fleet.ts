// The fleet benchmark: what a pass costs against a realistic report history, on a
// cluster of two real PuppetDBs it starts and stops itself. The end of `npm run bench`,
// or alone (it builds dist/cli.js first; `npm run bench:fleet -- ...` runs it under Node.js 24):
//
//   node scripts/bench-fleet.ts [--size fleet --nodes 10000 --reports-per-day 40 --days 3 --steps 3 --repeat 3
//     --idle-passes 4 --idle-seconds 30 --lag-samples 20 --receive-delay 0 --no-catalogs
//     --reconcile-interval 1h --no-doc --pdb-version 7.12.1]
//
// --size chooses the fleet (FLEET_SIZES in report-history.ts: `fleet`, 10,000 nodes and 1.2 million
// reports, or `100k`, 100,000 nodes and 10 million); --nodes, --reports-per-day, --days, --steps override it.
// 1. writes the nodes (factset, catalog) into both servers' databases with SQL, then the
//    reports in --steps steps (scripts/report-history.ts): identical rows, never transferred;
// 2. at 0 reports and after each step: --repeat `once` passes B<-A (elapsed, peak RSS, CPU of
//    both PuppetDBs, PostgreSQL and the sidecar), then `run` with interval 5s: the start pass
//    skipped, at least --idle-passes idle passes over at least --idle-seconds;
// 3. at the final size, under the same `run`: lag of --lag-samples factsets and reports;
// 4. figures in $TMPDIR/pdbsync-bench-fleet-figures.json (after every step), the summary, and
//    the "Fleet scale" section of docs/benchmarks.md with docs/bench-idle-pass.svg.
// --pdb-version: both servers' version (7.12.1 by default, on which the figures in
// docs/benchmarks.md were measured; or 8.8.1, whose report layout report-history.ts writes too;
// there a new report reaches B 2 minutes after its producer time at the earliest, see
// duplicateReportRace in docs/versions.md). scripts/bench-fleet-reconcile.ts runs the once passes alone.
// --reconcile-interval writes sync.reconcile-interval into the run configuration (a sidecar
// without it rejects the key) and sets the interval the reconcile pass's share is quoted at.
// About 15 minutes with the defaults on 2 cores, 2.5 of them starting the cluster; 17 when
// other work loads the machine (with --steps 4 and --idle-passes 5: 18 minutes).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/config/duration.ts';
import { freePort, startCluster, type Cluster } from './cluster.ts';
import { machine } from './bench-report.ts';
import { measureLag } from './fleet-lag.ts';
import { writeFleetReport, type FleetFigures } from './fleet-report.ts';
import { measureIdle, oncePass, RunSession, writeSyncConfig, type IdleFigures, type OnceFigures } from './fleet-sync.ts';
import { isPdbVersion, type PdbVersion } from './pdb-runtime.ts';
import { FLEET_SIZE_ARGS, fleetNodesSql, fleetSize, layout, reportHistorySql, slotsPerNode, type Fleet } from './report-history.ts';

export interface FleetOptions {
  nodes: number;
  reportsPerDay: number;
  days: number;
  steps: number;
  repeat: number;
  idlePasses: number;
  idleSeconds: number;
  lagSamples: number;
  receiveDelayMinutes: number;
  catalogs: boolean;
  reconcileInterval: string | undefined;
  doc: boolean;
  /** Both servers' version; 7.12.1 by default, on which the figures in docs/benchmarks.md were measured. */
  pdbVersion: PdbVersion;
  command: string;
  log: (line: string) => void;
}

const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'dist', 'cli.js');
const FIGURES = join(tmpdir(), 'pdbsync-bench-fleet-figures.json');
// PuppetDB's default report-ttl: older reports are neither kept nor pulled.
const REPORT_TTL_DAYS = 14;

const ARGS = {
  ...FLEET_SIZE_ARGS,
  repeat: { type: 'string', default: '3' },
  'idle-passes': { type: 'string', default: '4' },
  'idle-seconds': { type: 'string', default: '30' },
  'lag-samples': { type: 'string', default: '20' },
  'receive-delay': { type: 'string', default: '0' },
  'no-catalogs': { type: 'boolean', default: false },
  'reconcile-interval': { type: 'string' },
  'no-doc': { type: 'boolean', default: false },
  'pdb-version': { type: 'string', default: '7.12.1' },
} as const;

function int(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer of at least ${min}, got ${raw}`);
  return n;
}

/** The options of a command line (bench-fleet's own flags); `log` and `command` as given. */
export function fleetOptions(argv: string[], log: (line: string) => void, command: string): FleetOptions {
  const { values: a } = parseArgs({ args: argv, options: ARGS });
  const size = fleetSize(a.size);
  const options: FleetOptions = {
    nodes: int('nodes', a.nodes ?? String(size.nodes), 1),
    reportsPerDay: int('reports-per-day', a['reports-per-day'] ?? String(size.reportsPerDay), 1),
    days: int('days', a.days ?? String(size.days), 1),
    steps: int('steps', a.steps ?? String(size.steps), 1),
    repeat: int('repeat', a.repeat, 1),
    idlePasses: int('idle-passes', a['idle-passes'], 1),
    idleSeconds: int('idle-seconds', a['idle-seconds'], 0),
    lagSamples: int('lag-samples', a['lag-samples'], 0),
    receiveDelayMinutes: int('receive-delay', a['receive-delay'], 0),
    catalogs: !a['no-catalogs'],
    reconcileInterval: a['reconcile-interval'],
    // The "Fleet scale" table is the default fleet's; another size's figures are copied into its own subsection by hand.
    doc: !a['no-doc'] && a.size === 'fleet',
    pdbVersion: a['pdb-version'] as PdbVersion,
    command,
    log,
  };
  if (options.days >= REPORT_TTL_DAYS) throw new Error(`--days must be below the report-ttl of ${REPORT_TTL_DAYS} days`);
  if (options.steps > options.days * options.reportsPerDay) throw new Error('--steps must not exceed the reports per node (--days x --reports-per-day)');
  if (options.reconcileInterval !== undefined) parseDuration(options.reconcileInterval);
  if (!isPdbVersion(options.pdbVersion)) throw new Error(`--pdb-version: not a version scripts/cluster.ts runs: ${options.pdbVersion}`);
  layout(options.pdbVersion);
  return options;
}

async function reportCount(url: string): Promise<number> {
  const query = ['from', 'reports', ['extract', [['function', 'count']], ['and', ['=', 'node_state', 'any'], ['null?', 'type', false]]]];
  const res = await fetch(`${url}/pdb/query/v4`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  if (!res.ok) throw new Error(`count of reports: HTTP ${res.status} ${await res.text()}`);
  return Number(((await res.json()) as Array<{ count: number }>)[0]?.count ?? 0);
}

/** Runs `sql` in both servers' databases at once; how long it took. */
async function writeBoth(cluster: Cluster, sql: string): Promise<number> {
  const t = Date.now();
  await Promise.all(cluster.servers.map((s) => cluster.sql(s.database, sql)));
  return Date.now() - t;
}

export async function runFleetBench(o: FleetOptions): Promise<FleetFigures> {
  const t0 = Date.now();
  const parts: Record<string, number> = { 'cluster start': 0, 'writing the history': 0, 'once passes': 0, 'idle passes': 0, lag: 0 };
  const timed = async <T>(part: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      parts[part]! += Date.now() - t;
    }
  };
  const workDir = mkdtempSync(join(tmpdir(), 'pdbsync-bench-fleet-'));
  const cluster = await timed('cluster start', () => startCluster({ servers: 2, versions: [o.pdbVersion, o.pdbVersion], log: (line) => o.log(`[cluster] ${line}`) }));
  try {
    const [A, B] = cluster.servers.map((s) => s.url) as [string, string];
    const pdbVersion = String(((await (await fetch(`${A}/pdb/meta/v1/version`)).json()) as { version?: string }).version ?? '?');
    const receiveDelayMs = o.receiveDelayMinutes * 60_000;
    // The newest report is received about now.
    const fleet: Fleet = { nodes: o.nodes, reportsPerDay: o.reportsPerDay, days: o.days, endMs: Date.now() - receiveDelayMs, receiveDelayMs, catalogs: o.catalogs };
    const nodesWriteMs = await timed('writing the history', () => writeBoth(cluster, fleetNodesSql(fleet, layout(o.pdbVersion))));
    o.log(`A ${A}, B ${B}, PuppetDB ${pdbVersion}; ${o.nodes} nodes written into both databases in ${(nodesWriteMs / 1000).toFixed(1)} s`);
    const onceConfig = join(workDir, 'once.conf');
    writeSyncConfig(onceConfig, B, A);
    const loadAverage = { start: loadavg()[0]!, end: 0 };
    const figures: FleetFigures = {
      startedAt: new Date(t0).toISOString(), minutes: 0, command: o.command, machine: machine(), pdbVersion,
      nodes: o.nodes, reportsPerDay: o.reportsPerDay, days: o.days, repeat: o.repeat, receiveDelayMinutes: o.receiveDelayMinutes,
      catalogs: o.catalogs, reconcileInterval: o.reconcileInterval ?? null, reconcileShareSeconds: parseDuration(o.reconcileInterval ?? '1h') / 1000,
      nodesWriteMs, points: [], lag: null, parts, loadAverage,
    };
    const slots = slotsPerNode(fleet);
    for (let step = 0; step <= o.steps; step++) {
      const [from, to] = [Math.floor(((step - 1) * slots) / o.steps), Math.floor((step * slots) / o.steps)];
      const writeMs = step === 0 ? 0 : await timed('writing the history', () => writeBoth(cluster, reportHistorySql(fleet, from, to, layout(o.pdbVersion))));
      const reports = o.nodes * Math.max(0, to);
      const served = [await reportCount(A), await reportCount(B)];
      if (served.some((n) => n !== reports)) throw new Error(`expected ${reports} reports on both servers, A serves ${served[0]}, B ${served[1]}`);
      o.log(`${reports} reports on both servers (this step written in ${(writeMs / 1000).toFixed(1)} s)`);
      const once: OnceFigures[] = [];
      for (let r = 0; r < o.repeat; r++) {
        const pass = await timed('once passes', () => oncePass(CLI, onceConfig, cluster));
        if (pass.transferred !== 0) throw new Error(`a once pass transferred ${pass.transferred} records: the servers were not in step`);
        once.push(pass);
        o.log(`  once: ${(pass.elapsedMs / 1000).toFixed(2)} s, ${(pass.maxRssBytes / 1e6).toFixed(0)} MB, CPU s A ${pass.cpu.a.toFixed(1)} B ${pass.cpu.b.toFixed(1)} PostgreSQL ${pass.cpu.postgres.toFixed(1)} sidecar ${pass.cpu.sidecar.toFixed(1)}`);
      }
      const port = await freePort();
      const runConfig = join(workDir, 'run.conf');
      writeSyncConfig(runConfig, B, A, { httpPort: port, ...(o.reconcileInterval && { reconcileInterval: o.reconcileInterval }) });
      const session = new RunSession(CLI, runConfig, cluster);
      let idle: IdleFigures;
      try {
        idle = await timed('idle passes', () => measureIdle(session, o.idlePasses, o.idleSeconds * 1000));
        const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { remotes?: unknown[] };
        if (status.remotes?.length !== 1) throw new Error(`run's GET /status lists no remote: ${JSON.stringify(status)}`);
        const { startPass, passes } = idle;
        o.log(`  run: start pass (${startPass.kind}) ${(startPass.elapsedMs / 1000).toFixed(2)} s; idle passes ${passes.map((p) => `${(p.elapsedMs / 1000).toFixed(2)} s ${p.kind}`).join(', ')}; transferred ${passes.reduce((s, p) => s + p.transferred, 0)}`);
        if (step === o.steps && o.lagSamples > 0) {
          session.drain();
          const lagStart = Date.now();
          figures.lag = await timed('lag', () => measureLag(A, B, o.nodes, o.lagSamples, 3_000));
          // Whether the window held whole reconciliations, which the incremental passes ran beside.
          const whole = session.drain().filter((pass) => pass.kind === 'reconcile' && pass.at - pass.elapsedMs >= lagStart);
          figures.lag.wholeReconciliationsMs = whole.map((pass) => pass.elapsedMs);
          o.log(`  lag: factsets ${figures.lag.factsMs.map((ms) => (ms / 1000).toFixed(1)).join(' ')} s; reports ${figures.lag.reportsMs.map((ms) => (ms / 1000).toFixed(1)).join(' ')} s; missed ${figures.lag.missed}`);
          o.log(`  reconciliations that started and ended within the lag window: ${whole.length} (${whole.map((pass) => (pass.elapsedMs / 1000).toFixed(1)).join(', ')} s)`);
        }
      } finally {
        await session.stop();
      }
      figures.points.push({ reports, writeMs, once, idle });
      figures.minutes = (Date.now() - t0) / 60_000;
      loadAverage.end = loadavg()[0]!;
      writeFileSync(FIGURES, JSON.stringify(figures, null, 1));
    }
    o.log(`figures saved in ${FIGURES}`);
    writeFleetReport(figures, ROOT, o.doc);
    if (o.doc) o.log('wrote the "Fleet scale" section of docs/benchmarks.md and docs/bench-idle-pass.svg');
    return figures;
  } finally {
    o.log('stopping the cluster');
    await cluster.stop();
    rmSync(workDir, { recursive: true, force: true });
    o.log(`fleet benchmark done in ${((Date.now() - t0) / 60_000).toFixed(1)} minutes: ${Object.entries(parts).map(([p, ms]) => `${p} ${(ms / 60_000).toFixed(1)}`).join(', ')} min`);
  }
}

if (import.meta.main) {
  const t0 = Date.now();
  const say = (line: string) => console.log(`[fleet ${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${line}`);
  const options = fleetOptions(process.argv.slice(2), say, `node scripts/bench-fleet.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`);
  say('building dist/cli.js');
  const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  await runFleetBench(options);
}
