// The reconciliation of the fleet benchmark alone, on the PuppetDB version asked for
// (default 8.8.1, whose servers keep their default query-timeout-default of 600 s):
//
//   node scripts/bench-fleet-reconcile.ts [--pdb-version 8.8.1 --size fleet --nodes 10000 --reports-per-day 40
//     --days 3 --steps 3 --repeat 3 --verify]
//
// starts two servers of scripts/cluster.ts, writes the fleet of bench-fleet.ts into both
// databases with SQL in --steps steps (scripts/report-history.ts, in the server's layout),
// checks both serve every report, then runs --repeat `once` passes B<-A (dist/cli.js, built
// first): each must exit 0 and transfer nothing. Prints each pass's elapsed, peak RSS and
// CPU, and the medians; figures in $TMPDIR/pdbsync-bench-fleet-reconcile.json.
// --verify checks the written layout as PuppetDB serves it: every node's latest report
// on the nodes endpoint of both servers (on 8.8.1 also every day of reports_historical with
// its parent's indexes attached, one reports_latest row per node), then, after the passes, a
// store_report command for one node with a newer producer_timestamp stored by A (its latest
// report replaced) and moved to B by a once (on 8.8.1 up to 2 minutes after that time).
// --relay-scan times, on A, the report query of an incremental pass against that of a
// relay scan (sync.relay-scan-interval: every partition, no producer_timestamp bound),
// each from a watermark a minute old, as the entity builds them; medians of --repeat.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { submit } from './bench-pdb.ts';
import { startCluster, type Cluster } from './cluster.ts';
import { fleetReport } from './fleet-lag.ts';
import { oncePass, writeSyncConfig, type OnceFigures } from './fleet-sync.ts';
import { parseFleetArgs } from './fleet-args.ts';
import { parseConfig } from '../src/config/load.ts';
import { reports } from '../src/entities/reports.ts';
import { PuppetDbClient } from '../src/puppetdb/client.ts';
import { fleetCertname, fleetNodesSql, layout, reportHistorySql, slotsPerNode, type Fleet } from './report-history.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'dist', 'cli.js');
const FIGURES = join(tmpdir(), 'pdbsync-bench-fleet-reconcile.json');
// With --verify: the log of the once after store_report, and the servers' logs (copied before the cluster stops).
const VERIFY_ONCE_LOG = join(tmpdir(), 'pdbsync-bench-fleet-reconcile-verify-once.log');
const SERVER_LOGS = join(tmpdir(), 'pdbsync-bench-fleet-reconcile-logs');

const { version, nodes, reportsPerDay, days, steps, integer, values: a } = parseFleetArgs({
  repeat: { type: 'string', default: '3' },
  verify: { type: 'boolean', default: false },
  'relay-scan': { type: 'boolean', default: false },
});
const into = layout(version);
const repeat = integer('repeat');

const t0 = Date.now();
const say = (line: string) => console.log(`[reconcile ${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${line}`);

async function query(url: string, ast: unknown): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`${url}/pdb/query/v4`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: ast }) });
  if (!res.ok) throw new Error(`query ${JSON.stringify(ast)}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as Array<Record<string, unknown>>;
}
const ANY_REPORT = ['and', ['=', 'node_state', 'any'], ['null?', 'type', false]];
async function reportCount(url: string, extra?: unknown): Promise<number> {
  const rows = await query(url, ['from', 'reports', ['extract', [['function', 'count']], extra ? [...ANY_REPORT, extra] : ANY_REPORT]]);
  return Number(rows[0]?.count ?? 0);
}
/** certname -> latest_report_hash, as the nodes endpoint serves them. */
async function latestHashes(url: string): Promise<Map<string, unknown>> {
  const rows = await query(url, ['from', 'nodes', ['extract', ['certname', 'latest_report_hash'], ['=', 'node_state', 'any']]]);
  return new Map(rows.map((r) => [String(r.certname), r.latest_report_hash]));
}
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

async function verifyLatest(cluster: Cluster, fleet: Fleet): Promise<void> {
  const last = slotsPerNode(fleet) - 1;
  for (const server of cluster.servers) {
    const latest = await latestHashes(server.url);
    let wrong = 0;
    for (let n = 0; n < fleet.nodes; n++) if (latest.get(fleetCertname(n)) !== sha1(`${fleetCertname(n)}/report/${last}`)) wrong++;
    if (wrong > 0) throw new Error(`${server.name}: ${wrong} of ${fleet.nodes} nodes do not show their newest report as latest`);
  }
  say(`nodes endpoint: every node's latest report is its newest on both servers`);
  if (into !== '8.8.1') return;
  // Every day of reports_historical has each of its parent's indexes attached, as one PuppetDB created has.
  const check = [
    "WITH parent AS (SELECT indexrelid FROM pg_index WHERE indrelid = 'reports_historical'::regclass),",
    "  day AS (SELECT c.oid FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'reports_historical'::regclass)",
    "SELECT 'days=' || count(*) || ' incomplete=' || count(*) FILTER (WHERE (SELECT count(*) FROM pg_index x JOIN pg_inherits ii ON ii.inhrelid = x.indexrelid",
    '  WHERE x.indrelid = day.oid AND ii.inhparent IN (SELECT indexrelid FROM parent)) <> (SELECT count(*) FROM parent))',
    "  || ' latest=' || (SELECT count(*) FROM reports_latest) AS layout FROM day;",
  ].join('\n');
  for (const server of cluster.servers) {
    const out = await cluster.sql(server.database, check);
    const m = /days=(\d+) incomplete=(\d+) latest=(\d+)/.exec(out);
    if (!m || m[2] !== '0' || Number(m[3]) !== fleet.nodes) throw new Error(`${server.name}: reports_historical's days or reports_latest not as PuppetDB keeps them: ${out}`);
    say(`${server.name}: ${m[1]} days of reports_historical, each with its parent's indexes; ${m[3]} rows in reports_latest`);
  }
}

/** A store_report for node 0 newer than its history: A stores it as the node's latest, a once moves it to B. */
async function verifyNewReport(cluster: Cluster, fleet: Fleet, onceConfig: string): Promise<void> {
  const [A, B] = cluster.servers.map((s) => s.url) as [string, string];
  const certname = fleetCertname(0);
  // Node 0's newest report is at endMs. A report younger than 2 minutes waits that long on
  // 8.7-8.8.1 before the once submits it to B (duplicateReportRace in docs/versions.md).
  const at = new Date(fleet.endMs + 1000).toISOString();
  const before = (await latestHashes(A)).get(certname);
  await submit(A, 'store_report', 8, fleetReport(certname, at));
  const total = nodesTotal(fleet) + 1;
  for (let i = 0; (await reportCount(A)) !== total; i++) {
    if (i > 600) throw new Error(`A did not store the new report of ${certname} in 60 s`);
    await sleep(100);
  }
  const after = (await latestHashes(A)).get(certname);
  const served = await query(A, ['from', 'reports', ['extract', ['hash', 'producer_timestamp'], [...ANY_REPORT, ['=', 'certname', certname], ['=', 'latest_report?', true]]]]);
  if (after === before || served.length !== 1 || served[0]!.hash !== after || Date.parse(String(served[0]!.producer_timestamp)) !== Date.parse(at)) {
    throw new Error(`A's latest report of ${certname} after store_report: ${String(after)} (was ${String(before)}), latest_report? ${JSON.stringify(served)}`);
  }
  const pass = await oncePass(CLI, onceConfig, cluster, VERIFY_ONCE_LOG);
  const onB = (await latestHashes(B)).get(certname);
  if (pass.transferred !== 1 || onB !== after || (await reportCount(B)) !== total) throw new Error(`a once after store_report transferred ${pass.transferred}; B's latest of ${certname} ${String(onB)}, A's ${String(after)}`);
  say(`store_report of ${certname} at ${at}: stored by A as its latest report (${String(after)}), ${total} reports; a once moved it to B (transferred 1, ${(pass.elapsedMs / 1000).toFixed(2)} s)`);
}
const nodesTotal = (fleet: Fleet) => fleet.nodes * slotsPerNode(fleet);

/** Milliseconds each of `repeat` usual incremental report queries and relay scans took on `url`, in turns. */
async function relayScanCost(url: string, other: string): Promise<{ usualMs: number[]; relayMs: number[] }> {
  // Only the sync settings' defaults matter: the queries go to `url`.
  const config = await parseConfig(`local: { server_url: "${other}" }\nsync: { remotes: [ { server_url: "${url}" } ] }\n`, 'bench-relay-scan.conf');
  const client = new PuppetDbClient(url, { timeoutMs: 600_000 });
  const context = { now: Date.now(), firstPass: false, settings: config.sync };
  const since = Date.now() - 60_000;
  const timed = async (rows: AsyncIterable<unknown>) => {
    const started = Date.now();
    for await (const row of rows) void row;
    return Date.now() - started;
  };
  const cost = { usualMs: [] as number[], relayMs: [] as number[] };
  try {
    for (let r = 0; r < repeat; r++) {
      cost.usualMs.push(await timed(reports.changes(client, since, context)));
      cost.relayMs.push(await timed(reports.relayedChanges!(client, since, context)));
    }
  } finally {
    await client.close();
  }
  return cost;
}

say('building dist/cli.js');
const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
const workDir = mkdtempSync(join(tmpdir(), 'pdbsync-bench-reconcile-'));
const cluster = await startCluster({ servers: 2, versions: [version, version], log: (line) => say(`[cluster] ${line}`) });
try {
  const [A, B] = cluster.servers.map((s) => s.url) as [string, string];
  const pdbVersion = String(((await (await fetch(`${A}/pdb/meta/v1/version`)).json()) as { version?: string }).version ?? '?');
  const fleet: Fleet = { nodes, reportsPerDay, days, endMs: Date.now(), receiveDelayMs: 0, catalogs: true };
  const writeBoth = async (sql: string) => {
    const t = Date.now();
    await Promise.all(cluster.servers.map((s) => cluster.sql(s.database, sql)));
    return Date.now() - t;
  };
  const writeMs = [await writeBoth(fleetNodesSql(fleet, into))];
  const slots = slotsPerNode(fleet);
  for (let step = 1; step <= steps; step++) writeMs.push(await writeBoth(reportHistorySql(fleet, Math.floor(((step - 1) * slots) / steps), Math.floor((step * slots) / steps), into)));
  say(`A ${A}, B ${B}, PuppetDB ${pdbVersion}: ${nodes} nodes and ${nodesTotal(fleet)} reports written into both databases in ${writeMs.map((ms) => (ms / 1000).toFixed(1)).join(' + ')} s`);
  const served = [await reportCount(A), await reportCount(B)];
  if (served.some((n) => n !== nodesTotal(fleet))) throw new Error(`expected ${nodesTotal(fleet)} reports on both servers, A serves ${served[0]}, B ${served[1]}`);
  say(`${nodesTotal(fleet)} reports served by both servers`);
  if (a.verify) await verifyLatest(cluster, fleet);
  const onceConfig = join(workDir, 'once.conf');
  writeSyncConfig(onceConfig, B, A);
  const load = { start: loadavg()[0]!, end: 0 };
  const once: OnceFigures[] = [];
  for (let r = 0; r < repeat; r++) {
    const pass = await oncePass(CLI, onceConfig, cluster);
    if (pass.transferred !== 0) throw new Error(`a once pass transferred ${pass.transferred} records: the servers were not in step`);
    once.push(pass);
    say(`once ${r + 1}: ${(pass.elapsedMs / 1000).toFixed(2)} s (wall ${(pass.wallMs / 1000).toFixed(2)} s), ${(pass.maxRssBytes / 1e6).toFixed(0)} MB, rows read ${pass.rowsRead}, CPU s A ${pass.cpu.a.toFixed(1)} B ${pass.cpu.b.toFixed(1)} PostgreSQL ${pass.cpu.postgres.toFixed(1)} sidecar ${pass.cpu.sidecar.toFixed(1)}`);
  }
  load.end = loadavg()[0]!;
  const med = (f: (p: OnceFigures) => number) => median(once.map(f));
  say(`medians of ${repeat}: ${(med((p) => p.elapsedMs) / 1000).toFixed(2)} s, ${(med((p) => p.maxRssBytes) / 1e6).toFixed(0)} MB, CPU s A ${med((p) => p.cpu.a).toFixed(1)} B ${med((p) => p.cpu.b).toFixed(1)} PostgreSQL ${med((p) => p.cpu.postgres).toFixed(1)} sidecar ${med((p) => p.cpu.sidecar).toFixed(1)}; load average ${load.start.toFixed(1)} -> ${load.end.toFixed(1)}`);
  writeFileSync(FIGURES, JSON.stringify({ startedAt: new Date(t0).toISOString(), pdbVersion, nodes, reportsPerDay, days, steps, writeMs, once, load }, null, 1));
  say(`figures saved in ${FIGURES}`);
  if (a['relay-scan']) {
    const cost = await relayScanCost(A, B);
    say(`report queries from a watermark a minute old: incremental ${cost.usualMs.join(', ')} ms (median ${median(cost.usualMs)}), relay scan ${cost.relayMs.join(', ')} ms (median ${median(cost.relayMs)})`);
    writeFileSync(FIGURES.replace('.json', '-relay-scan.json'), JSON.stringify(cost));
  }
  if (a.verify) await verifyNewReport(cluster, fleet, onceConfig);
} finally {
  if (a.verify) {
    rmSync(SERVER_LOGS, { recursive: true, force: true });
    for (const s of cluster.servers) for (const f of ['logs', 'stdout.log']) if (existsSync(join(s.dir, f))) cpSync(join(s.dir, f), join(SERVER_LOGS, s.name, f), { recursive: true });
    say(`servers' logs copied into ${SERVER_LOGS}`);
  }
  say('stopping the cluster');
  await cluster.stop();
  rmSync(workDir, { recursive: true, force: true });
  say(`done in ${((Date.now() - t0) / 60_000).toFixed(1)} minutes`);
}
