// The benchmark: puppetdb-sync against PuppetDB's own export/import, on a fresh
// cluster of two real PuppetDBs it starts and stops itself.
//
//   npm run bench [-- --hosts 200 --repeat 3 --noop-nodes 10000,100000 --hosts-series 50,100 --no-doc --no-fleet --no-spool]
//
// About 25 minutes with the defaults on 2 cores (cluster start-up ~1.5 min), then ~15 for the
// fleet benchmark (scripts/bench-fleet.ts, its defaults, its own cluster; --no-fleet skips it,
// npm run bench:fleet runs it alone). --noop-nodes 0 skips the large no-op passes, --no-doc only
// prints. Figures: $TMPDIR/pdbsync-bench-figures.json (scripts/bench-report.ts renders them again).
// Then ~6 minutes for the spool (scripts/bench-spool.ts, no cluster; --no-spool skips it,
// npm run bench:spool runs it alone).
//
// 1. loads N hosts (factset with package inventory, ~230 KB catalog, report) into A;
// 2. full sync into an empty B vs export of A + import into an empty B, and vs the same
//    commands fed to an empty B directly (its physical limit);
// 3. incremental: 10% of the hosts changed on A, a pass into B vs export+import of everything;
// 4. peak RSS of a pass carrying a 20 MB catalog;
// 5. no-op pass (elapsed, peak RSS) at N hosts, then with small factsets written straight
//    into both servers' databases up to each --noop-nodes count (commands would take
//    20 minutes per 100,000 nodes);
// 6. prints the table and writes docs/benchmarks.md and docs/bench-sync-time.svg;
// 7. the fleet benchmark: full and idle passes against a report history, and lag;
// 8. the spool: latency journaling adds, commands/s journaled, idle CPU.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster } from './cluster.ts';
import { bigCatalog } from './big-catalog.ts';
import { CLI, CLI_ENV, CLI_FLAGS, runOnce } from './bench-cli.ts';
import { counts, deleteNode, drainedAt, emptyServer, feed, hostRecords, submit, type DirectRate } from './bench-pdb.ts';
import { machine, writeReport, type ExportImportFigures, type Figures, type PassFigures } from './bench-report.ts';
import { fleetOptions, runFleetBench } from './bench-fleet.ts';
import { runSpoolBench } from './bench-spool.ts';

// 7.12.1, as the figures in docs/benchmarks.md were measured on it.
const SERVER_VERSIONS = ['7.12.1', '7.12.1'] as const;

const { values: args } = parseArgs({
  options: {
    hosts: { type: 'string', default: '200' },
    repeat: { type: 'string', default: '3' },
    'noop-nodes': { type: 'string', default: '10000,100000' },
    'hosts-series': { type: 'string', default: '50,100' },
    'no-doc': { type: 'boolean', default: false },
    'no-fleet': { type: 'boolean', default: false },
    'no-spool': { type: 'boolean', default: false },
  },
});
const HOSTS = positiveInt('hosts', args.hosts);
const REPEAT = positiveInt('repeat', args.repeat);
const NOOP_NODES = args['noop-nodes'] === '0' ? [] : [...new Set(args['noop-nodes'].split(',').map((v) => positiveInt('noop-nodes', v)))].sort((a, b) => a - b);
const SERIES = [...new Set([...args['hosts-series'].split(',').filter(Boolean).map((v) => positiveInt('hosts-series', v)), HOSTS])]
  .filter((n) => n <= HOSTS)
  .sort((a, b) => a - b);
const CHANGED = Math.max(1, Math.round(HOSTS / 10));
const ROOT = new URL('..', import.meta.url).pathname;
const T0 = Date.now();
const FIGURES = join(tmpdir(), 'pdbsync-bench-figures.json');

function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
}

function say(line: string): void {
  console.log(`[bench ${((Date.now() - T0) / 1000).toFixed(0).padStart(5)} s] ${line}`);
}

const secs = (ms: number): string => (ms / 1000).toFixed(2);
const mb = (bytes: number): string => (bytes / 1e6).toFixed(0);

// ---------------------------------------------------------------- the two methods

type Pass = PassFigures;

const workDir = mkdtempSync(join(tmpdir(), 'pdbsync-bench-'));

/** One `once` pass pulling `remote` into `local`, timed from spawn until local's queue drained. */
async function syncPass(local: string, remote: string): Promise<Pass> {
  const config = join(workDir, 'sync.conf');
  // A 20 MB catalog can take a cold PuppetDB longer to apply than the default wait
  // (48 s), and a record counts only once applied.
  writeFileSync(config, `local: { server_url: "${local}" }\nsync: { remotes: [ { server_url: "${remote}", interval: 2m } ], request-timeout: 300s }\n`);
  const t = Date.now();
  const { code, stdout, stderr } = await runOnce(config);
  const end = await drainedAt(local);
  const lines = stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  if (code !== 0) throw new Error(`once exited ${code}: ${stderr}\n${stdout.slice(-4000)}`);
  const finished = lines.find((l) => l.phase === 'sync' && l.sync_event === 'finished');
  const last = lines.find((l) => l.msg === 'once finished' || l.message === 'once finished');
  const transferred = lines.filter((l) => l.phase === 'entity' && l.sync_event === 'finished').reduce((s, l) => s + Number(l.transferred ?? 0), 0);
  if (!finished || !last) throw new Error(`once logged no sync/finished or once finished line:\n${stdout.slice(-4000)}`);
  return { ms: end - t, elapsedMs: Number(finished.elapsed), maxRssBytes: Number(last.maxRssBytes), transferred };
}

type ExportImport = ExportImportFigures;

/** Export of `from` then import into `to`, timed until `to`'s queue drained. */
async function exportImport(from: string, to: string): Promise<ExportImport> {
  const t = Date.now();
  const res = await fetch(`${from}/pdb/admin/v1/archive?anonymization=none`);
  if (!res.ok) throw new Error(`export: HTTP ${res.status} ${await res.text()}`);
  const archive = await res.arrayBuffer();
  const exportMs = Date.now() - t;
  const form = new FormData();
  form.append('archive', new Blob([archive], { type: 'application/octet-stream' }), 'puppetdb-export.tgz');
  const imp = await fetch(`${to}/pdb/admin/v1/archive`, { method: 'POST', body: form });
  if (!imp.ok) throw new Error(`import: HTTP ${imp.status} ${await imp.text()}`);
  await imp.arrayBuffer();
  const end = await drainedAt(to);
  return { ms: end - t, exportMs, bytes: archive.byteLength };
}

/** How long `url` alone takes to answer the factsets summary a pass reads, read whole. */
async function factsetSummaryMs(url: string): Promise<number> {
  const t = Date.now();
  const res = await fetch(`${url}/pdb/query/v4`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      query: ['from', 'factsets', ['extract', ['certname', 'hash', 'producer_timestamp', 'producer'], ['=', 'node_state', 'any']]],
      order_by: [{ field: 'certname', order: 'asc' }],
    }),
  });
  await res.arrayBuffer();
  return Date.now() - t;
}

/**
 * SQL writing nodes small-<from>..small-<to - 1> with a small factset each, the same rows
 * in either database so that both servers are in step: PuppetDB serves them like any
 * other, and 100,000 are written in seconds instead of 20 minutes of commands.
 */
function smallNodesSql(from: number, to: number, at: string): string {
  const name = "format('small-%s.example.net', lpad(i::text, 6, '0'))";
  return [
    `INSERT INTO certnames (certname) SELECT ${name} FROM generate_series(${from}, ${to - 1}) AS i;`,
    'INSERT INTO factsets (certname, timestamp, hash, producer_timestamp, stable, volatile)',
    `SELECT ${name}, '${at}', decode(md5(${name}), 'hex'), '${at}',`,
    "  jsonb_build_object('fact_2', 'shared-2', 'fact_3', 'shared-3'), jsonb_build_object('fact_0', 'value-' || i, 'fact_1', 'value-' || i)",
    `FROM generate_series(${from}, ${to - 1}) AS i;`,
  ].join('\n');
}

// ---------------------------------------------------------------- the run

interface FullPoint { hosts: number; sync: Pass[]; ei: ExportImport[]; direct: DirectRate[] }

const startedAt = new Date();
say(`hosts ${HOSTS}, repeat ${REPEAT}, series ${SERIES.join(',')}, noop-nodes ${NOOP_NODES.join(',') || 'none'}`);
say('building dist/cli.js');
const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);

// Node.js with the CLI's modules loaded and no pass: the floor of any pass's peak RSS.
const footprint = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, ...CLI_FLAGS, CLI, '--version'], { encoding: 'utf8', env: CLI_ENV });
const footprintKb = Number(footprint.stderr?.trim().split('\n').at(-1));

const cluster = await startCluster({ servers: 2, versions: SERVER_VERSIONS, log: (line) => say(`[cluster] ${line}`) });
let failed = false;
try {
  const [A, B] = cluster.servers.map((s) => s.url) as [string, string];
  const pdbVersion = String(((await (await fetch(`${A}/pdb/meta/v1/version`)).json()) as { version?: string }).version ?? '?');
  say(`A ${A}, B ${B}, PuppetDB ${pdbVersion}`);

  // 1 and 2: load A up to each point of the series, then full sync vs export+import.
  const base = Date.now() - 6 * 3600_000;
  const load: DirectRate = { commands: 0, ms: 0 };
  const points: FullPoint[] = [];
  let loaded = 0;
  const generation0 = (from: number, to: number) => {
    const commands = [];
    for (let i = from; i < to; i++) commands.push(...hostRecords(i, base + i * 1000, 0));
    return commands;
  };
  for (const n of SERIES) {
    const rate = await feed(A, generation0(loaded, n));
    load.commands += rate.commands;
    load.ms += rate.ms;
    loaded = n;
    say(`loaded ${n} hosts into A (${rate.commands} commands, ${(rate.commands / (rate.ms / 1000)).toFixed(1)}/s applied): ${await counts(A)}`);
    const reps = n === HOSTS ? REPEAT : 1;
    const point: FullPoint = { hosts: n, sync: [], ei: [], direct: [] };
    for (let r = 0; r < reps; r++) {
      // Export+import first: it leaves B without package inventories; the sync last, so B ends in step.
      await emptyServer(B);
      const ei = await exportImport(A, B);
      point.ei.push(ei);
      say(`  ${n} hosts, export+import ${secs(ei.ms)} s (export ${secs(ei.exportMs)} s, ${(ei.bytes / 1e6).toFixed(1)} MB): B ${await counts(B)}`);
      if (n === HOSTS) {
        await emptyServer(B);
        const direct = await feed(B, generation0(0, n));
        point.direct.push(direct);
        say(`  ${n} hosts fed to B directly: ${secs(direct.ms)} s, ${(direct.commands / (direct.ms / 1000)).toFixed(1)} commands/s applied`);
      }
      await emptyServer(B);
      const pass = await syncPass(B, A);
      point.sync.push(pass);
      say(`  ${n} hosts, sync ${secs(pass.ms)} s (pass elapsed ${secs(pass.elapsedMs)} s, ${pass.transferred} records, ${mb(pass.maxRssBytes)} MB): B ${await counts(B)}`);
    }
    points.push(point);
  }
  const full = points.at(-1)!;

  // 3: incremental. Each measurement starts with B in step with A and one change behind.
  let generation = 0;
  const change = async () => {
    generation++;
    const now = Date.now();
    const commands = [];
    for (let j = 0; j < CHANGED; j++) commands.push(...hostRecords((generation * CHANGED + j) % HOSTS, now - j, generation));
    await feed(A, commands);
  };
  const incSync: Pass[] = [];
  const incEi: ExportImport[] = [];
  for (let r = 0; r < REPEAT; r++) {
    await change();
    const pass = await syncPass(B, A);
    incSync.push(pass);
    say(`  incremental sync ${secs(pass.ms)} s (pass elapsed ${secs(pass.elapsedMs)} s, ${pass.transferred} records)`);
    await change();
    const ei = await exportImport(A, B);
    incEi.push(ei);
    say(`  incremental export+import of everything ${secs(ei.ms)} s`);
    // The import dropped the package inventories: a pass puts B back in step (not timed).
    const repair = await syncPass(B, A);
    say(`  (B back in step: ${repair.transferred} records)`);
  }

  // 4: a 20 MB catalog, pulled into B again at each repetition.
  const big = bigCatalog('big-catalog.example.net', 20_000);
  await submit(A, 'replace_catalog', 9, big);
  await drainedAt(A);
  const bigPasses: Pass[] = [];
  for (let r = 0; r < REPEAT; r++) {
    await deleteNode(B, big.certname);
    bigPasses.push(await syncPass(B, A));
    say(`  20 MB catalog: pass elapsed ${secs(bigPasses.at(-1)!.elapsedMs)} s, peak RSS ${mb(bigPasses.at(-1)!.maxRssBytes)} MB`);
  }

  // 5: no-op passes.
  const noop: Pass[] = [];
  for (let r = 0; r < REPEAT; r++) noop.push(await syncPass(B, A));
  say(`  no-op at ${HOSTS} hosts: elapsed ${noop.map((p) => p.elapsedMs).join(', ')} ms, transferred ${noop.map((p) => p.transferred).join(', ')}`);
  const noopSeries: Figures['noopSeries'] = [];
  let seeded = 0;
  for (const nodes of NOOP_NODES) {
    const t = Date.now();
    await Promise.all(cluster.servers.map((s) => cluster.sql(s.database, smallNodesSql(seeded, nodes, new Date(base - 3600_000).toISOString()))));
    seeded = nodes;
    say(`wrote ${nodes} small factsets into both databases (${secs(Date.now() - t)} s): A ${await counts(A)}; B ${await counts(B)}`);
    const passes: Pass[] = [];
    for (let r = 0; r < REPEAT; r++) passes.push(await syncPass(B, A));
    const summaryMs = await factsetSummaryMs(A);
    noopSeries.push({ nodes, passes, factsetSummaryMs: summaryMs });
    say(`  no-op at ${HOSTS} hosts + ${nodes} nodes: elapsed ${passes.map((p) => p.elapsedMs).join(', ')} ms, peak RSS ${passes.map((p) => mb(p.maxRssBytes)).join(', ')} MB, transferred ${passes.map((p) => p.transferred).join(', ')}`);
  }

  // 5: figures, saved first so that the report can be rendered again without a rerun.
  const figures: Figures = {
    startedAt: startedAt.toISOString(),
    minutes: (Date.now() - T0) / 60_000,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: machine(),
    pdbVersion,
    hosts: HOSTS,
    repeat: REPEAT,
    changed: CHANGED,
    points,
    incSync,
    incEi,
    bigCatalog: { bytes: Buffer.byteLength(JSON.stringify(big)), passes: bigPasses },
    noop,
    noopSeries,
    loadRate: load.commands / (load.ms / 1000),
    ...(footprintKb > 0 ? { footprintBytes: footprintKb * 1024 } : {}),
    nodeFlags: CLI_FLAGS,
  };
  writeFileSync(FIGURES, JSON.stringify(figures, null, 1));
  say(`figures saved in ${FIGURES}`);
  writeReport(figures, ROOT, !args['no-doc']);
  if (!args['no-doc']) say('wrote docs/benchmarks.md and docs/bench-sync-time.svg');
} catch (error) {
  failed = true;
  throw error;
} finally {
  say(failed ? 'failed; stopping the cluster' : 'stopping the cluster');
  await cluster.stop();
  rmSync(workDir, { recursive: true, force: true });
  say(`done in ${((Date.now() - T0) / 60_000).toFixed(1)} minutes`);
}

// 7: after the first cluster has stopped, so that the two do not share the cores.
if (!args['no-fleet']) {
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  await runFleetBench(fleetOptions(args['no-doc'] ? ['--no-doc'] : [], (line) => say(`[fleet] ${line}`), command));
  say(`done in ${((Date.now() - T0) / 60_000).toFixed(1)} minutes`);
}

// 8: alone on the machine too, after both clusters have stopped.
if (!args['no-spool']) {
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  await runSpoolBench({ repeat: REPEAT, doc: !args['no-doc'], say: (line) => say(`[spool] ${line}`), command });
  say(`done in ${((Date.now() - T0) / 60_000).toFixed(1)} minutes`);
}
