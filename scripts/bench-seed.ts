// How long `puppetdb-sync seed` takes at fleet scale, and what it costs the peer:
//
//   node scripts/bench-seed.ts [--pdb-version 8.8.1 --nodes 10000 --reports-per-day 40
//     --days 3 --steps 3 --jobs 2 --no-start --no-doc | --doc-only]
//
// starts one PuppetDB (the peer) of scripts/cluster.ts, writes the fleet of bench-fleet.ts
// into its database with SQL (scripts/report-history.ts, in the server's layout), creates
// an empty local database beside it (same PostgreSQL, as PuppetDB's installation leaves
// one: a role that owns it, pg_trgm and pgcrypto) and a role that may only read the
// peer's, then runs dist/cli.js seed (built first) and times its dump and restore from
// its log lines, with PostgreSQL's CPU in each and the seed's own (pg_dump, pg_restore).
// Then (unless --no-start) the peer's PuppetDB stops and one of that version starts on
// the copy, and must serve every report. Prints the figures with the extrapolation to
// 6.7 million reports and a command sync of the same data beside them; figures in
// $TMPDIR/pdbsync-bench-seed.json, and the `## Seeding` section of docs/benchmarks.md
// (not with --no-doc; --doc-only writes it again from the saved figures, and runs nothing).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, CLI_FLAGS } from './bench-cli.ts';
import { SEED_HEADING, withSection } from './bench-doc.ts';
import { prepareServer } from './cluster-server.ts';
import { startCluster } from './cluster.ts';
import { parseFleetArgs } from './fleet-args.ts';
import { chrootsDir } from './pdb-runtime.ts';
import { postgresCpuSeconds, reapedChildrenCpuSeconds } from './proc-usage.ts';
import { fleetNodesSql, layout, reportHistorySql, slotsPerNode, type Fleet } from './report-history.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const FIGURES = join(tmpdir(), 'pdbsync-bench-seed.json');
/** Records a second the local PuppetDB applies as commands (docs/benchmarks.md, "Records per second"). */
const COMMAND_RATE = 11.5;
const REAL_FLEET_REPORTS = 6_700_000;

const { version, nodes, reportsPerDay, days, steps, integer, values: a } = parseFleetArgs({
  jobs: { type: 'string', default: '2' },
  'no-start': { type: 'boolean', default: false },
  'no-doc': { type: 'boolean', default: false },
  'doc-only': { type: 'boolean', default: false },
});
const jobs = integer('jobs');
const DOC = join(ROOT, 'docs', 'benchmarks.md');

/** What one run measured, as saved in FIGURES. */
interface Figures {
  startedAt: string; version: string; nodes: number; reports: number; jobs: number;
  dumpMs: number; restoreMs: number; peerDatabaseBytes: number; dumpBytes: number; localDatabaseBytes: number;
  postgresCpuDump: number; postgresCpuRestore: number; seedCpu: number;
  load: { start: number; end: number };
  /** Until PuppetDB answered `running` on the copy; undefined with --no-start. */
  startMs: number | undefined;
}

/** The `## Seeding` section of docs/benchmarks.md. */
function seedSection(f: Figures): string {
  const totalS = (f.dumpMs + f.restoreMs) / 1000;
  const records = f.reports + 2 * f.nodes;
  const atFleet = (totalS * REAL_FLEET_REPORTS) / f.reports;
  return [
    SEED_HEADING,
    '',
    `\`npm run bench:seed\` (scripts/bench-seed.ts), ${f.startedAt.slice(0, 10)}, ${cpus().length} cores shared with other work (load average ${f.load.start.toFixed(1)} at the start of the seed, ${f.load.end.toFixed(1)} at its end):`,
    `a PuppetDB ${f.version} database holding ${f.nodes.toLocaleString('en')} nodes (a factset and a catalog each) and ${f.reports.toLocaleString('en')} reports, written with SQL,`,
    `copied by \`puppetdb-sync seed\` with ${f.jobs} jobs into an empty database of the same PostgreSQL ([seeding](seeding.md)).`,
    '',
    '| Step | Elapsed | Sizes | PostgreSQL CPU |',
    '| --- | ---: | --- | ---: |',
    `| dump (\`pg_dump -Fd -j ${f.jobs}\`, one snapshot) | ${seconds(f.dumpMs)} s | database ${mb(f.peerDatabaseBytes)} MB, dump ${mb(f.dumpBytes)} MB | ${f.postgresCpuDump.toFixed(1)} s |`,
    `| restore (\`pg_restore -j ${f.jobs}\`) | ${seconds(f.restoreMs)} s | database ${mb(f.localDatabaseBytes)} MB | ${f.postgresCpuRestore.toFixed(1)} s |`,
    `| together | ${totalS.toFixed(1)} s | | pg_dump, pg_restore and the CLI: ${f.seedCpu.toFixed(1)} CPU s |`,
    '',
    `- ${(f.reports / totalS).toFixed(0)} reports a second, dump and restore together. Growing with the data, 6.7 million reports (10,000 nodes running Puppet every 30 minutes, kept 14 days) take about ${(atFleet / 60).toFixed(0)} minutes.`,
    `- A command sync of the same ${records.toLocaleString('en')} records at the measured ${COMMAND_RATE} records a second ([rates](#rates)) takes ${(records / COMMAND_RATE / 3600).toFixed(1)} hours; of 6.7 million reports ${((REAL_FLEET_REPORTS + 2 * f.nodes) / COMMAND_RATE / 86_400).toFixed(1)} days.`,
    `- Target: dump and restore of 10,000 nodes and 1.2 million reports within 10 minutes: ${totalS <= 600 ? 'met' : 'missed'} (${(totalS / 60).toFixed(1)} minutes).`,
    f.startMs === undefined ? '' : `- PuppetDB ${f.version} started on the copy (its own PuppetDB stopped first) and answered \`running\` after ${seconds(f.startMs)} s, serving all ${f.reports.toLocaleString('en')} reports.`,
    `- What it cost the peer: ${f.postgresCpuDump.toFixed(1)} s of PostgreSQL CPU over the dump's ${seconds(f.dumpMs)} s (${((100 * f.postgresCpuDump * 1000) / f.dumpMs).toFixed(0)}% of one core), each table read once; pg_dump's own compression runs on the seeding host. Its locks and snapshot: [seeding](seeding.md#the-peers-postgresql).`,
    `- Both databases were on one PostgreSQL, on loopback. Between two hosts the rows cross the network uncompressed (pg_dump compresses on the seeding host), about the database's size less its indexes.`,
    `- The machine was shared with other work (the load averages above, on 2 cores): the times are upper bounds.`,
    '',
  ].filter((line, i, all) => line !== '' || all[i - 1] !== '').join('\n');
}

function writeDoc(f: Figures): void {
  writeFileSync(DOC, withSection(readFileSync(DOC, 'utf8'), SEED_HEADING, seedSection(f)));
  say(`${SEED_HEADING} of ${DOC} written`);
}


const t0 = Date.now();
const say = (line: string) => console.log(`[seed ${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${line}`);
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const mb = (bytes: number) => (bytes / 1e6).toFixed(0);

if (a['doc-only']) {
  writeDoc(JSON.parse(readFileSync(FIGURES, 'utf8')) as Figures);
  process.exit(0);
}

interface SeedRun {
  code: number | null;
  stderr: string;
  /** Log lines by `phase/sync_event`, and PostgreSQL's CPU seconds when each arrived. */
  lines: Map<string, { line: Record<string, unknown>; postgresCpu: number }>;
  seedCpu: number;
}

/** Runs the seed, sampling PostgreSQL's CPU at each start and finish of its phases. */
function runSeed(config: string, postmaster: number): Promise<SeedRun> {
  return new Promise((resolve, reject) => {
    const cpuBefore = reapedChildrenCpuSeconds();
    const child = spawn(process.execPath, [...CLI_FLAGS, CLI, 'seed', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: SeedRun['lines'] = new Map();
    let partial = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const all = (partial + chunk).split('\n');
      partial = all.pop() ?? '';
      for (const text of all.filter((l) => l.trim() !== '')) {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.set(`${String(line.phase)}/${String(line.sync_event)}`, { line, postgresCpu: postgresCpuSeconds(postmaster) });
        if (line.phase !== undefined) say(`seed: ${String(line.message)}${line.elapsed === undefined ? '' : ` (${seconds(Number(line.elapsed))} s)`}`);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, lines, seedCpu: reapedChildrenCpuSeconds() - cpuBefore }));
  });
}

say('building dist/cli.js');
const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
const workDir = mkdtempSync(join(tmpdir(), 'pdbsync-bench-seed-'));
const cluster = await startCluster({ servers: 1, versions: [version], log: (line) => say(`[cluster] ${line}`) });
const local = { database: 'seedlocal', role: 'seedlocal', password: 'pw-seedlocal' };
const localServer = await prepareServer({ version, pgPort: cluster.postgres.port, ...local, log: (line) => say(`[local] ${line}`) });
try {
  const peer = cluster.servers[0]!;
  const fleet: Fleet = { nodes, reportsPerDay, days, endMs: Date.now(), receiveDelayMs: 0, catalogs: true };
  const reports = nodes * slotsPerNode(fleet);
  const into = layout(version);
  const writeStarted = Date.now();
  await cluster.sql(peer.database, fleetNodesSql(fleet, into));
  const slots = slotsPerNode(fleet);
  for (let step = 1; step <= steps; step++) {
    await cluster.sql(peer.database, reportHistorySql(fleet, Math.floor(((step - 1) * slots) / steps), Math.floor((step * slots) / steps), into));
    say(`written ${step} of ${steps} steps`);
  }
  await cluster.sql(peer.database, 'VACUUM ANALYZE');
  say(`peer ${peer.url} (PuppetDB ${version}): ${nodes} nodes and ${reports} reports written in ${seconds(Date.now() - writeStarted)} s`);

  await cluster.sql('postgres', `CREATE ROLE ${local.role} LOGIN PASSWORD '${local.password}'`);
  await cluster.sql('postgres', `CREATE DATABASE ${local.database} OWNER ${local.role} TEMPLATE template0`);
  await cluster.sql(local.database, 'CREATE EXTENSION pg_trgm; CREATE EXTENSION pgcrypto;');
  await cluster.sql('postgres', "CREATE ROLE seedreader LOGIN PASSWORD 'pw-seedreader'; GRANT pg_read_all_data TO seedreader;");
  writeFileSync(join(workDir, 'reader.password'), 'pw-seedreader\n');
  const jar = version === '7.12.1' ? '/usr/share/puppetdb/puppetdb.jar' : join(chrootsDir(), `pdb-${version}`, 'usr/share/puppetdb/puppetdb.jar');
  const config = join(workDir, 'seed.conf');
  writeFileSync(config, [
    `puppetdb: { conf-dir: "${localServer.confDir}" }`,
    `sync: { remotes: [ { server_url: "${peer.url}" } ] }`,
    `seed: {`,
    `  peer: { subname: "//127.0.0.1:${cluster.postgres.port}/${peer.database}", username: seedreader, password-file: reader.password }`,
    `  puppetdb-jar: "${jar}", jobs: ${jobs}, work-dir: "${workDir}"`,
    `}`,
    '',
  ].join('\n'));

  const load = { start: loadavg()[0]!, end: 0 };
  const run = await runSeed(config, cluster.postgres.pid);
  load.end = loadavg()[0]!;
  if (run.code !== 0) throw new Error(`seed exited ${run.code}: ${run.stderr}`);
  const at = (key: string) => run.lines.get(key) ?? (() => { throw new Error(`no ${key} line`); })();
  const dump = at('dump/finished');
  const restore = at('restore/finished');
  const figures: Figures = {
    startedAt: new Date(t0).toISOString(), version, nodes, reports, jobs,
    dumpMs: Number(dump.line.elapsed), restoreMs: Number(restore.line.elapsed),
    peerDatabaseBytes: Number(at('dump/start').line.peerDatabaseBytes), dumpBytes: Number(dump.line.dumpBytes), localDatabaseBytes: Number(restore.line.localDatabaseBytes),
    postgresCpuDump: dump.postgresCpu - at('dump/start').postgresCpu, postgresCpuRestore: restore.postgresCpu - at('restore/start').postgresCpu,
    seedCpu: run.seedCpu, load, startMs: undefined,
  };
  const totalS = (figures.dumpMs + figures.restoreMs) / 1000;
  say(`dump ${seconds(figures.dumpMs)} s (${mb(figures.peerDatabaseBytes)} MB database -> ${mb(figures.dumpBytes)} MB dump, PostgreSQL ${figures.postgresCpuDump.toFixed(1)} CPU s), restore ${seconds(figures.restoreMs)} s (${mb(figures.localDatabaseBytes)} MB database, PostgreSQL ${figures.postgresCpuRestore.toFixed(1)} CPU s); pg_dump, pg_restore and the CLI ${figures.seedCpu.toFixed(1)} CPU s; load average ${load.start.toFixed(1)} -> ${load.end.toFixed(1)}`);
  say(`${(reports / totalS).toFixed(0)} reports/s; at 6.7M reports about ${((totalS * REAL_FLEET_REPORTS) / reports / 60).toFixed(0)} min; a command sync of the same ${reports + 2 * nodes} records at ${COMMAND_RATE}/s: ${((reports + 2 * nodes) / COMMAND_RATE / 3600).toFixed(1)} h (6.7M: ${((REAL_FLEET_REPORTS + 2 * nodes) / COMMAND_RATE / 86_400).toFixed(1)} days)`);

  if (!a['no-start']) {
    // The cluster's PostgreSQL takes the connections of one PuppetDB: the peer's go first.
    process.kill(peer.pid, 'SIGTERM');
    const started = Date.now();
    await localServer.start();
    figures.startMs = Date.now() - started;
    const response = await fetch(`${localServer.url}/pdb/query/v4`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: ['from', 'reports', ['extract', [['function', 'count']], ['and', ['=', 'node_state', 'any'], ['null?', 'type', false]]]] }) });
    const served = Number(((await response.json()) as Array<{ count: number }>)[0]?.count);
    if (served !== reports) throw new Error(`the local PuppetDB on the copy serves ${served} reports, not ${reports}`);
    say(`local PuppetDB ${version} running on the copy after ${seconds(figures.startMs)} s, serving all ${served} reports`);
  }
  writeFileSync(FIGURES, JSON.stringify(figures, null, 1));
  say(`figures saved in ${FIGURES}`);
  if (!a['no-doc']) writeDoc(figures);
} finally {
  await localServer.remove();
  await cluster.stop();
  rmSync(workDir, { recursive: true, force: true });
  say(`done in ${((Date.now() - t0) / 60_000).toFixed(1)} minutes`);
}
