// The benchmark: puppetdb-sync against PuppetDB's own export/import, on a fresh
// cluster of two real PuppetDBs it starts and stops itself.
//
//   npm run bench [-- --hosts 200 --repeat 3 --noop-nodes 10000 --hosts-series 50,100 --no-doc]
//
// About 18 minutes with the defaults on 2 cores (cluster start-up ~1.5 min, 10,000 small
// factsets loaded into both servers ~2.5 min); --noop-nodes 0 skips that step, --no-doc
// prints the table without writing the docs. The figures are also saved in
// $TMPDIR/pdbsync-bench-figures.json; scripts/bench-report.ts renders them again.
//
// 1. loads N hosts (factset with package inventory, ~230 KB catalog, report) into A;
// 2. full sync into an empty B vs export of A + import into an empty B;
// 3. incremental: 10% of the hosts changed on A, a pass into B vs export+import of everything;
// 4. no-op pass (elapsed, peak RSS) at N hosts, then with --noop-nodes small factsets on both;
// 5. prints the table and writes docs/benchmarks.md and docs/bench-sync-time.svg.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster } from './cluster.ts';
import { counts, drainedAt, emptyServer, feed, hostRecords, iso, PRODUCER, type DirectRate, type Payload } from './bench-pdb.ts';
import { machine, writeReport, type ExportImportFigures, type Figures, type PassFigures } from './bench-report.ts';

const { values: args } = parseArgs({
  options: {
    hosts: { type: 'string', default: '200' },
    repeat: { type: 'string', default: '3' },
    'noop-nodes': { type: 'string', default: '10000' },
    'hosts-series': { type: 'string', default: '50,100' },
    'no-doc': { type: 'boolean', default: false },
  },
});
const HOSTS = positiveInt('hosts', args.hosts);
const REPEAT = positiveInt('repeat', args.repeat);
const NOOP_NODES = args['noop-nodes'] === '0' ? 0 : positiveInt('noop-nodes', args['noop-nodes']);
const SERIES = [...new Set([...args['hosts-series'].split(',').filter(Boolean).map((v) => positiveInt('hosts-series', v)), HOSTS])]
  .filter((n) => n <= HOSTS)
  .sort((a, b) => a - b);
const CHANGED = Math.max(1, Math.round(HOSTS / 10));
const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'dist', 'cli.js');
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
  writeFileSync(config, `local: { server_url: "${local}" }\nsync: { remotes: [ { server_url: "${remote}", interval: 2m } ] }\n`);
  const t = Date.now();
  const child = spawn(process.execPath, [CLI, 'once', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const end = await drainedAt(local);
  const lines = stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  if (code !== 0) throw new Error(`once exited ${code}: ${stderr}\n${stdout.slice(-4000)}`);
  const finished = lines.find((l) => l.phase === 'sync' && l.event === 'finished');
  const last = lines.find((l) => l.msg === 'once finished' || l.message === 'once finished');
  const transferred = lines.filter((l) => l.phase === 'entity' && l.event === 'finished').reduce((s, l) => s + Number(l.transferred ?? 0), 0);
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

// ---------------------------------------------------------------- the run

interface FullPoint { hosts: number; sync: Pass[]; ei: ExportImport[] }

const startedAt = new Date();
say(`hosts ${HOSTS}, repeat ${REPEAT}, series ${SERIES.join(',')}, noop-nodes ${NOOP_NODES}`);
say('building dist/cli.js');
const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);

// Node.js with the CLI's modules loaded and no pass: the floor of any pass's peak RSS.
const footprint = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, CLI, '--version'], { encoding: 'utf8' });
const footprintKb = Number(footprint.stderr?.trim().split('\n').at(-1));

const cluster = await startCluster({ servers: 2, log: (line) => say(`[cluster] ${line}`) });
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
  for (const n of SERIES) {
    const commands = [];
    for (let i = loaded; i < n; i++) commands.push(...hostRecords(i, base + i * 1000, 0));
    const rate = await feed(A, commands);
    load.commands += rate.commands;
    load.ms += rate.ms;
    loaded = n;
    say(`loaded ${n} hosts into A (${rate.commands} commands, ${(rate.commands / (rate.ms / 1000)).toFixed(1)}/s applied): ${await counts(A)}`);
    const reps = n === HOSTS ? REPEAT : 1;
    const point: FullPoint = { hosts: n, sync: [], ei: [] };
    for (let r = 0; r < reps; r++) {
      // Export+import first: it leaves B without package inventories; the sync last, so B ends in step.
      await emptyServer(B);
      const ei = await exportImport(A, B);
      point.ei.push(ei);
      say(`  ${n} hosts, export+import ${secs(ei.ms)} s (export ${secs(ei.exportMs)} s, ${(ei.bytes / 1e6).toFixed(1)} MB): B ${await counts(B)}`);
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

  // 4: no-op passes.
  const noop: Pass[] = [];
  for (let r = 0; r < REPEAT; r++) noop.push(await syncPass(B, A));
  say(`  no-op at ${HOSTS} hosts: elapsed ${noop.map((p) => p.elapsedMs).join(', ')} ms, transferred ${noop.map((p) => p.transferred).join(', ')}`);
  const noopBig: Pass[] = [];
  let noopLoad: DirectRate | undefined;
  if (NOOP_NODES > 0) {
    const commands: Array<[string, number, Payload]> = [];
    for (let i = 0; i < NOOP_NODES; i++) {
      const values: Record<string, unknown> = {};
      for (let k = 0; k < 10; k++) values[`fact_${k}`] = k < 2 ? `value-${i}-${k}` : `shared-${k}`;
      commands.push(['replace_facts', 5, { certname: `small-${String(i).padStart(6, '0')}.example.net`, environment: 'production', producer: PRODUCER, producer_timestamp: iso(base - 3600_000 + i), values }]);
    }
    const t = Date.now();
    const [ra, rb] = await Promise.all([feed(A, commands), feed(B, commands)]);
    noopLoad = { commands: ra.commands + rb.commands, ms: Math.max(ra.ms, rb.ms) };
    say(`loaded ${NOOP_NODES} small factsets into A and B in ${secs(Date.now() - t)} s: A ${await counts(A)}; B ${await counts(B)}`);
    for (let r = 0; r < REPEAT; r++) noopBig.push(await syncPass(B, A));
    say(`  no-op at ${HOSTS + NOOP_NODES} nodes: elapsed ${noopBig.map((p) => p.elapsedMs).join(', ')} ms, transferred ${noopBig.map((p) => p.transferred).join(', ')}`);
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
    noopNodes: NOOP_NODES,
    points,
    incSync,
    incEi,
    noop,
    noopBig,
    directRate: load.commands / (load.ms / 1000),
    ...(footprintKb > 0 ? { footprintBytes: footprintKb * 1024 } : {}),
    ...(noopLoad ? { noopLoadRate: noopLoad.commands / (noopLoad.ms / 1000) } : {}),
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
