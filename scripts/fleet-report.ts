// The fleet benchmark's report: a summary on standard output, the "Fleet scale" section
// of docs/benchmarks.md and docs/bench-idle-pass.svg. Also runs on its own, to render
// a saved figures file again:
//
//   node scripts/fleet-report.ts /tmp/pdbsync-bench-fleet-figures.json
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FLEET_HEADING, LANES_HEADING, lineChart, RECONCILE_HEADING, SCALE_HEADING, section as sectionOf, subsection, withSection } from './bench-doc.ts';
import { median, type Machine } from './bench-report.ts';
import type { LagFigures } from './fleet-lag.ts';
import type { Cpu, IdleFigures, OnceFigures } from './fleet-sync.ts';

export interface FleetPoint { reports: number; writeMs: number; once: OnceFigures[]; idle: IdleFigures }
export interface FleetFigures {
  startedAt: string;
  minutes: number;
  command: string;
  machine: Machine;
  pdbVersion: string;
  nodes: number;
  reportsPerDay: number;
  days: number;
  repeat: number;
  receiveDelayMinutes: number;
  catalogs: boolean;
  /** As written in the run configuration; null: not written (the sidecar's default). */
  reconcileInterval: string | null;
  /** The interval the reconcile pass's share is quoted at. */
  reconcileShareSeconds: number;
  nodesWriteMs: number;
  points: FleetPoint[];
  lag: LagFigures | null;
  /** Milliseconds spent in each part of the benchmark. */
  parts: Record<string, number>;
  /** The machine's 1-minute load average when the benchmark started and ended: other work makes elapsed times noisy. */
  loadAverage?: { start: number; end: number };
}

const secs = (ms: number): string => (ms / 1000).toFixed(2);
const mb = (bytes: number): string => (bytes / 1e6).toFixed(0);
const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
const cpuTotal = (c: Cpu) => c.a + c.b + c.postgres + c.sidecar;
const servers = (c: Cpu) => c.a + c.b + c.postgres;
const count = (n: number) => (n >= 1e6 ? `${+(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : String(n));

/** Nearest-rank percentile. */
function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)]!;
}

interface PointSummary {
  reports: number;
  fullMs: number;
  fullRss: number;
  fullCpu: Cpu;
  /** Median of the passes' totals (not the sum of the columns' medians). */
  fullCpuTotal: number;
  idleMs: number;
  idleRss: number | null;
  idleServerCpu: number;
  serverShare: number;
  sidecarShare: number;
  idleKinds: string;
  /** Summary rows read per pass (median), where the sidecar logs them. */
  fullRows: number | null;
  idleRows: number | null;
}

const medianOrNull = (xs: Array<number | null>): number | null => {
  const logged = xs.filter((x) => typeof x === 'number');
  return logged.length === 0 ? null : median(logged);
};

function summarize(p: FleetPoint): PointSummary {
  const med = (f: (c: Cpu) => number) => median(p.once.map((o) => f(o.cpu)));
  const idle = p.idle.passes;
  const idleSeconds = idle.reduce((s, x) => s + x.sinceLastEndMs, 0) / 1000;
  const kinds = [...new Set(idle.map((x) => x.kind))].join(', ');
  return {
    reports: p.reports,
    fullMs: median(p.once.map((o) => o.elapsedMs)),
    fullRss: median(p.once.map((o) => o.maxRssBytes)),
    fullCpu: { a: med((c) => c.a), b: med((c) => c.b), postgres: med((c) => c.postgres), sidecar: med((c) => c.sidecar) },
    fullCpuTotal: med(cpuTotal),
    idleMs: median(idle.map((x) => x.elapsedMs)),
    idleRss: p.idle.peakRssBytes,
    idleServerCpu: median(idle.map((x) => servers(x.cpu))),
    serverShare: idle.reduce((s, x) => s + servers(x.cpu), 0) / idleSeconds,
    sidecarShare: idle.reduce((s, x) => s + x.cpu.sidecar, 0) / idleSeconds,
    idleKinds: p.idle.startPass.kindLogged ? kinds : `${kinds} (no kind logged)`,
    fullRows: medianOrNull(p.once.map((o) => o.rowsRead)),
    idleRows: medianOrNull(idle.map((x) => x.rowsRead)),
  };
}

function lagRow(what: string, xs: number[]): string {
  return `| ${what} | ${xs.length} | ${secs(percentile(xs, 50))} | ${secs(percentile(xs, 95))} | ${secs(Math.max(...xs))} |`;
}

export function writeFleetReport(f: FleetFigures, root: string, writeDoc: boolean): void {
  const rows = f.points.map(summarize);
  const last = rows.at(-1)!;
  const cpuText = (c: Cpu) => `${c.a.toFixed(1)} / ${c.b.toFixed(1)} / ${c.postgres.toFixed(1)} / ${c.sidecar.toFixed(1)}`;
  const table = [
    '| Stored reports | Full pass (s) | Full pass peak RSS (MB) | Full pass CPU s: PuppetDB A / B / PostgreSQL / sidecar | Idle pass (s) | Idle peak RSS (MB) | PuppetDB+PostgreSQL CPU per idle pass (s) | PuppetDB+PostgreSQL CPU idle | Sidecar CPU idle |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) =>
      `| ${r.reports} | ${secs(r.fullMs)} | ${mb(r.fullRss)} | ${cpuText(r.fullCpu)} | ${secs(r.idleMs)} | ${r.idleRss === null ? '?' : mb(r.idleRss)} | ${r.idleServerCpu.toFixed(1)} | ${pct(r.serverShare)} | ${pct(r.sidecarShare)} |`),
  ];
  const reconcileCpu = last.fullCpuTotal;
  const final = f.points.at(-1)!.idle;
  const interval = f.reconcileInterval ?? `${f.reconcileShareSeconds / 3600}h`;
  const lag = f.lag;
  const lagTable = lag
    ? ['| Record | Samples | p50 (s) | p95 (s) | max (s) |', '| --- | ---: | ---: | ---: | ---: |', lagRow('factset', lag.factsMs), lagRow('report', lag.reportsMs)]
    : [];
  console.log(`\n${table.join('\n')}\n`);
  console.log(`reconcile pass at ${last.reports} reports: ${secs(last.fullMs)} s, ${mb(last.fullRss)} MB, ${reconcileCpu.toFixed(1)} CPU s (${((reconcileCpu / f.reconcileShareSeconds) * 100).toFixed(2)}% of a core at ${interval})`);
  if (lag) console.log(`${lagTable.join('\n')}\n${lag.missed} samples not served by B in time`);
  if (!writeDoc) return;

  writeFileSync(join(root, 'docs', 'bench-idle-pass.svg'), lineChart({
    title: `Pass elapsed against stored reports, ${f.nodes} nodes (${f.machine.cpus.split(' ')[0]} cores)`,
    xLabel: 'reports stored on both servers',
    yLabel: 'seconds',
    xs: rows.map((r) => r.reports),
    formatX: count,
    series: [
      { name: 'full pass (once)', color: '#d62728', ys: rows.map((r) => r.fullMs / 1000) },
      { name: 'idle pass (run)', color: '#1f77b4', ys: rows.map((r) => r.idleMs / 1000) },
    ],
  }));
  const m = f.machine;
  const section = [
    FLEET_HEADING,
    '',
    `Written by \`scripts/bench-fleet.ts\` (the end of \`npm run bench\`, or alone); ${f.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${f.minutes.toFixed(0)} minutes,`,
    `\`${f.command}\`, on ${m.cpus} with PuppetDB ${f.pdbVersion}. Two PuppetDBs of scripts/cluster.ts (one PostgreSQL, fsync off); B pulls from A.`,
    '',
    `- Data: ${f.nodes} nodes, each with a factset of five facts${f.catalogs ? ', a catalog of two resources and one edge' : ''} and ${f.reportsPerDay} agent reports a day`,
    `  over ${f.days} days (evenly spaced, the newest at the start of the run${f.receiveDelayMinutes ? `, received ${f.receiveDelayMinutes} minutes after their producer_timestamp` : ''}),`,
    `  written with SQL into both databases in ${f.points.length - 1} steps (scripts/report-history.ts): the same rows on both servers, so no pass transfers any.`,
    `  Nodes: ${secs(f.nodesWriteMs)} s; reports, into both databases at once: ${f.points.slice(1).map((p) => `${secs(p.writeMs)} s`).join(', ')} per step`,
    `  (${secs(f.points.reduce((s, p) => s + p.writeMs, 0))} s for ${last.reports} reports each).`,
    `- Full pass: \`once\`, its own \`elapsed\` and \`maxRssBytes\`; CPU seconds of both PuppetDB java processes, every PostgreSQL`,
    `  process and the sidecar from its start to its exit (/proc). Medians of ${f.repeat}.`,
    '- Idle pass: `run` with `interval: 5s`, the pass it starts with skipped (and any reconcile pass); the median `elapsed`',
    '  of the next ones, the peak RSS over them (VmHWM, reset after the start pass), PuppetDB and PostgreSQL CPU from',
    '  one pass end to the next, and the sidecar\'s CPU time over that whole window divided by its length.',
    `- Kind of the idle passes: ${last.idleKinds}.${final.startPass.kindLogged ? '' : ' This sidecar does a full pass every time, so an idle pass costs what a full pass costs.'}`,
    '- CPU shares are of one core: CPU seconds over the wall-clock seconds of the idle passes and the waits between them.',
    '',
    '![Full and idle pass elapsed against stored reports](bench-idle-pass.svg)',
    '',
    ...table,
    '',
    `Full pass at ${last.reports} reports: ${((last.fullMs * 1000) / Math.max(1, last.reports)).toFixed(1)} µs per stored report.`,
    `Reconcile pass (a \`once\`) at ${last.reports} reports: ${secs(last.fullMs)} s, peak RSS ${mb(last.fullRss)} MB, ${reconcileCpu.toFixed(1)} CPU seconds`,
    `(medians: PuppetDB A ${last.fullCpu.a.toFixed(1)}, B ${last.fullCpu.b.toFixed(1)}, PostgreSQL ${last.fullCpu.postgres.toFixed(1)}, sidecar ${last.fullCpu.sidecar.toFixed(1)}):`,
    `${((reconcileCpu / f.reconcileShareSeconds) * 100).toFixed(2)}% of one core at a reconcile interval of ${interval}. Under \`run\`, the start pass`,
    `(${final.startPass.kind}, ${secs(final.startPass.elapsedMs)} s) peaked at ${mb(final.startPeakRssBytes)} MB. Summary rows read from both servers`,
    last.fullRows === null
      ? '(`remoteRows` + `localRows` of the entity lines): not logged by this sidecar.'
      : `(\`remoteRows\` + \`localRows\`): ${last.fullRows} by the full pass, ${last.idleRows ?? '?'} by an idle pass.`,
    '',
    ...(lag
      ? [
          `Lag under \`run\` (\`interval: 5s\`) at ${last.reports} reports: a new factset and a new report of one node submitted to A every`,
          `few seconds, timed from the submission until B's query API serves them (polled every 100 ms).${lag.missed ? ` ${lag.missed} not served within 5 minutes.` : ''}`,
          ...(lag.wholeReconciliationsMs?.length
            ? [`The window held ${lag.wholeReconciliationsMs.length} whole reconciliation(s) (${lag.wholeReconciliationsMs.map((ms) => secs(ms)).join(', ')} s; \`reconcile-interval: ${interval}\`), beside which the incremental passes ran.`]
            : []),
          '',
          ...lagTable,
          '',
        ]
      : []),
    `Time taken: ${Object.entries(f.parts).map(([part, ms]) => `${part} ${(ms / 60_000).toFixed(1)} min`).join(', ')}.`,
    ...(f.loadAverage ? [`The machine's 1-minute load average was ${f.loadAverage.start.toFixed(1)} at the start and ${f.loadAverage.end.toFixed(1)} at the end: CPU seconds vary less than elapsed times.`] : []),
    '',
  ].join('\n');
  const docPath = join(root, 'docs', 'benchmarks.md');
  const doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '# Benchmarks\n';
  // The figures of scripts/bench-fleet-reconcile.ts and of the 100k fleet stay until they are measured again.
  const kept = [RECONCILE_HEADING, SCALE_HEADING, LANES_HEADING].map((heading) => subsection(sectionOf(doc, FLEET_HEADING), heading)).filter(Boolean);
  writeFileSync(docPath, withSection(doc, FLEET_HEADING, [section, ...kept].join('\n')));
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node scripts/fleet-report.ts FIGURES.json');
  writeFleetReport(JSON.parse(readFileSync(file, 'utf8')) as FleetFigures, new URL('..', import.meta.url).pathname, true);
}
