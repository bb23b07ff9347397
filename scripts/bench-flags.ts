// Peak RSS of the CLI with and without each Node.js flag the bin could start it with:
// the figures of docs/operations.md, "Node.js flags". Runs against two PuppetDBs
// already started, which it empties first (npm run cluster -- start prints their URLs):
//
//   node scripts/bench-flags.ts --servers '["http://127.0.0.1:PORT_A","http://127.0.0.1:PORT_B"]' [--repeat 3] [--cli FILE]
//
// Each repetition runs every set of flags in turn, so that the load of a shared machine
// falls on all of them alike: `--version`, a no-op pass between the two empty servers,
// then a pass carrying a 20 MB catalog from A into B. Prints the medians in MB.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bigCatalog } from './big-catalog.ts';
import { CLI } from './bench-cli.ts';
import { deleteNode, drainedAt, emptyServer, submit } from './bench-pdb.ts';

const { values: args } = parseArgs({
  options: { servers: { type: 'string' }, repeat: { type: 'string', default: '3' }, cli: { type: 'string', default: CLI } },
});
const servers = JSON.parse(args.servers ?? '[]') as string[];
if (servers.length !== 2) throw new Error('--servers: a JSON array of two PuppetDB URLs');
const [A, B] = servers as [string, string];
const REPEAT = Number(args.repeat);
const FLAG_SETS = [[], ['--expose-gc'], ['--liftoff-only'], ['--expose-gc', '--liftoff-only']];

const MB = 1e6;
const workDir = mkdtempSync(join(tmpdir(), 'pdbsync-flags-'));
const config = join(workDir, 'sync.conf');
// A 20 MB catalog can take a cold PuppetDB longer to apply than the default wait (48 s), and a record counts only once applied.
writeFileSync(config, `local: { server_url: "${B}" }\nsync: { remotes: [ { server_url: "${A}", interval: 2m } ], request-timeout: 300s }\n`);

/** Peak RSS of `node FLAGS cli --version`, as /usr/bin/time reports it. */
function versionRss(flags: string[]): number {
  const run = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, ...flags, args.cli, '--version'], { encoding: 'utf8' });
  return Number(run.stderr.trim().split('\n').at(-1)) * 1024;
}

/** Peak RSS of a `once` pass from A into B (its `once finished` line), and the records it transferred. */
async function pass(flags: string[]): Promise<{ rss: number; transferred: number }> {
  const child = spawn(process.execPath, [...flags, args.cli, 'once', '--config', config], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  if (code !== 0) throw new Error(`once ${flags.join(' ')} exited ${code}:\n${stdout.slice(-4000)}`);
  const lines = stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
  await drainedAt(B);
  return {
    rss: Number(lines.find((line) => line.message === 'once finished')?.maxRssBytes),
    transferred: lines.filter((line) => line.phase === 'entity' && line.sync_event === 'finished').reduce((sum, line) => sum + Number(line.transferred), 0),
  };
}

const figures = new Map(FLAG_SETS.map((flags) => [flags, { version: [] as number[], noop: [] as number[], big: [] as number[] }]));
await Promise.all([emptyServer(A), emptyServer(B)]);
for (let r = 0; r < REPEAT; r++) {
  for (const [flags, f] of figures) {
    f.version.push(versionRss(flags));
    const noop = await pass(flags);
    if (noop.transferred !== 0) throw new Error(`a no-op pass transferred ${noop.transferred} records`);
    f.noop.push(noop.rss);
  }
}
const big = bigCatalog('big-catalog.example.net', 20_000);
await submit(A, 'replace_catalog', 9, big);
await drainedAt(A);
for (let r = 0; r < REPEAT; r++) {
  for (const [flags, f] of figures) {
    await deleteNode(B, big.certname);
    const carried = await pass(flags);
    if (carried.transferred !== 1) throw new Error(`the 20 MB catalog pass transferred ${carried.transferred} records`);
    f.big.push(carried.rss);
  }
}
await deleteNode(A, big.certname);
rmSync(workDir, { recursive: true });

const median = (values: number[]): number => values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!;
const show = (values: number[]): string => `${(median(values) / MB).toFixed(0)} (${values.map((v) => (v / MB).toFixed(0)).join(', ')})`;
console.log(`peak RSS in MB, median (runs); ${args.cli}, Node.js ${process.version}`);
console.log('| Flags | --version | No-op pass, empty servers | Pass carrying a 20 MB catalog |\n| --- | ---: | ---: | ---: |');
for (const [flags, f] of figures) console.log(`| ${flags.join(' ') || '(none)'} | ${show(f.version)} | ${show(f.noop)} | ${show(f.big)} |`);
