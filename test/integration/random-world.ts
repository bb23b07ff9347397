// A seeded, reproducible random world for convergence tests: each round a topology
// over the servers, random records with a prefix of its own written to random
// servers at random producer times (exact ties with other content, days old, a few
// minutes ahead), random deactivations, one server cut off while the others sync,
// then brought back; `once` passes along the edges until every server pulled from
// every neighbour at least twice; then every server must hold the same records of
// the prefix and `diff` (measureDivergence) must find nothing for it.
// No vitest here: scripts/random-convergence.ts runs it too.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOnce } from '../../scripts/bench-cli.ts';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log.ts';
import { measureDivergence } from '../../src/sync/divergence.ts';
import { diameter, topology, type Rng, type Topology } from './random-topology.ts';
import { plainReport } from './test-records.ts';
import { NO_REPORT_SETTLE } from './test-settings.ts';

export interface Write {
  readonly server: string;
  readonly command: string;
  readonly version: number;
  readonly payload: { certname: string; producer_timestamp: string; [field: string]: unknown };
}

export interface RoundPlan {
  readonly prefix: string;
  readonly topology: Topology;
  /** Left out of the topology while the others sync, then brought back. */
  readonly cutOff: string;
  readonly writes: readonly Write[];
}

const MINUTE = 60_000;
/** A queue not drained by then is stuck (see runRound): fail the round rather than wait 5 minutes. */
const DRAIN_MS = 120_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** A producer time: mostly recent, some days old, some a few minutes ahead. */
function producerTime(rng: Rng, now: number): number {
  const roll = rng.next();
  // Whole seconds, and the odd millisecond, as agents send them.
  const ms = rng.chance(0.5) ? 0 : rng.int(1000);
  if (roll < 0.55) return now - rng.between(1, 50) * MINUTE - ms;
  if (roll < 0.85) return now - rng.between(70, 3 * 24 * 60) * MINUTE - ms;
  return now + rng.between(5, 180) * 1000 + ms;
}

function factset(certname: string, at: number, producer: string, values: Record<string, unknown>) {
  return { certname, environment: 'production', producer_timestamp: iso(at), producer, values };
}

function catalog(rng: Rng, certname: string, at: number, producer: string, label: string) {
  const notify = { type: 'Notify', title: `msg-${label}`, exported: false, tags: ['notify', 'class'], file: '/etc/puppetlabs/code/site.pp', line: rng.between(1, 99), parameters: { message: `${label} ${rng.int(1000)}` } };
  return {
    certname,
    version: `cv-${label}`,
    environment: 'production',
    transaction_uuid: rng.uuid(),
    catalog_uuid: rng.uuid(),
    producer_timestamp: iso(at),
    producer,
    code_id: null,
    job_id: null,
    edges: [{ source: { type: 'Class', title: 'Main' }, target: { type: 'Notify', title: notify.title }, relationship: 'contains' }],
    resources: [{ type: 'Class', title: 'Main', exported: false, tags: ['class'], parameters: { name: 'main' } }, notify],
  };
}

/** Drawn in the order the randomized run has always drawn them, so that a seed replays. */
function report(rng: Rng, certname: string, at: number, label: string) {
  const [transactionUuid, catalogUuid] = [rng.uuid(), rng.uuid()];
  const status = rng.pick(['unchanged', 'changed', 'failed']);
  return plainReport(certname, at, label, { transactionUuid, catalogUuid, status, totalTime: rng.int(100) / 10 });
}

export interface PlanOptions {
  /** Certnames per round. */
  readonly nodes: number;
}

export function planRound(rng: Rng, servers: readonly string[], prefix: string, now: number, options: PlanOptions): RoundPlan {
  const topo = topology(rng, servers);
  const cutOff = rng.pick(topo.members);
  const writes: Write[] = [];
  const on = () => rng.pick(topo.members);
  const two = () => rng.shuffle(topo.members).slice(0, 2) as [string, string];
  for (let n = 0; n < options.nodes; n++) {
    const certname = `${prefix}-n${n}`;
    const times: number[] = [];
    const producer = rng.pick(['puppet-a.example.net', 'puppet-b.example.net']);
    // Factsets: a few versions on random servers; a tie at one producer time with other values.
    for (let k = rng.between(1, 3); k > 0; k--) {
      const at = producerTime(rng, now);
      times.push(at);
      writes.push({ server: on(), command: 'replace_facts', version: 5, payload: factset(certname, at, producer, { role: rng.pick(['web', 'db', 'cache']), n: rng.int(100) }) });
    }
    if (rng.chance(0.4)) {
      const at = producerTime(rng, now);
      times.push(at);
      const [x, y] = two();
      writes.push({ server: x, command: 'replace_facts', version: 5, payload: factset(certname, at, producer, { role: 'tie', side: 'x', n: rng.int(100) }) });
      writes.push({ server: y, command: 'replace_facts', version: 5, payload: factset(certname, at, producer, { role: 'tie', side: 'y', n: rng.int(100) }) });
    }
    // Catalogs.
    if (rng.chance(0.7)) {
      for (let k = rng.between(1, 2); k > 0; k--) {
        const at = producerTime(rng, now);
        times.push(at);
        writes.push({ server: on(), command: 'replace_catalog', version: 9, payload: catalog(rng, certname, at, producer, `c${n}-${k}`) });
      }
      if (rng.chance(0.4)) {
        const at = producerTime(rng, now);
        times.push(at);
        const [x, y] = two();
        writes.push({ server: x, command: 'replace_catalog', version: 9, payload: catalog(rng, certname, at, producer, `tie-x-${n}`) });
        writes.push({ server: y, command: 'replace_catalog', version: 9, payload: catalog(rng, certname, at, producer, `tie-y-${n}`) });
      }
    }
    // Reports: every one kept; two at one producer time are two reports.
    for (let k = rng.between(0, 3); k > 0; k--) {
      const at = producerTime(rng, now);
      times.push(at);
      writes.push({ server: on(), command: 'store_report', version: 8, payload: report(rng, certname, at, `r${n}-${k}`) });
      if (rng.chance(0.2)) writes.push({ server: on(), command: 'store_report', version: 8, payload: report(rng, certname, at, `r${n}-${k}-same-time`) });
    }
    // A node retired after its last record, on one server.
    if (rng.chance(0.3)) {
      const at = Math.max(...times) + rng.between(1, 30) * MINUTE;
      writes.push({ server: on(), command: 'deactivate_node', version: 3, payload: { certname, producer_timestamp: iso(at) } });
    }
  }
  // Deactivations last on their server (after the records they retire), the rest in random order.
  const records = rng.shuffle(writes.filter((w) => w.command !== 'deactivate_node'));
  return { prefix, topology: topo, cutOff, writes: [...records, ...writes.filter((w) => w.command === 'deactivate_node')] };
}

async function submit(write: Write): Promise<void> {
  const { server, command, version, payload } = write;
  const params = new URLSearchParams({ command, version: String(version), certname: payload.certname, 'producer-timestamp': payload.producer_timestamp });
  const response = await fetch(`${server}/pdb/cmd/v1?${params}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  if (response.status !== 200) throw new Error(`${command} ${payload.certname} on ${server}: ${response.status} ${await response.text()}`);
}

async function query(url: string, ast: unknown): Promise<Record<string, unknown>[]> {
  const response = await fetch(`${url}/pdb/query/v4`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: ast }) });
  if (response.status !== 200) throw new Error(`query on ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>[];
}

/** What every server must agree on, for the prefix's certnames: each entity's rows, sorted. */
export async function stateOf(url: string, prefix: string): Promise<Record<string, string[]>> {
  const mine = ['and', ['=', 'node_state', 'any'], ['~', 'certname', `^${prefix}-`]];
  const [factsets, catalogs, reports, nodes] = await Promise.all([
    query(url, ['from', 'factsets', ['extract', ['certname', 'producer_timestamp', 'producer', 'environment', 'hash'], mine]]),
    query(url, ['from', 'catalogs', ['extract', ['certname', 'producer_timestamp', 'producer', 'catalog_uuid', 'transaction_uuid', 'hash'], mine]]),
    query(url, ['from', 'reports', ['extract', ['certname', 'producer_timestamp', 'transaction_uuid', 'hash'], ['and', mine, ['null?', 'type', false]]]]),
    query(url, ['from', 'nodes', ['extract', ['certname', 'deactivated'], mine]]),
  ]);
  const sorted = (rows: Record<string, unknown>[]) => rows.map((row) => JSON.stringify(row)).sort();
  return { factsets: sorted(factsets), catalogs: sorted(catalogs), reports: sorted(reports), nodes: sorted(nodes) };
}

function configFile(local: string, remotes: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'pdbsync-random-'));
  const file = join(dir, 'sync.conf');
  writeFileSync(file, configText(local, remotes));
  return file;
}

const configText = (local: string, remotes: readonly string[]) =>
  `local: { server_url: "${local}" }\nsync: {\n  remotes: [ ${remotes.map((url) => `{ server_url: "${url}" }`).join(', ')} ]\n${NO_REPORT_SETTLE}}\n`;

export interface RoundResult {
  readonly plan: RoundPlan;
  readonly passes: number;
  readonly elapsedMs: number;
  /** Empty when the round converged. */
  readonly problems: string[];
}

/** Sweeps over the edges (each in a random order), a `once` pass per edge, the local queue drained after each. */
async function sweep(rng: Rng, edges: ReadonlyArray<readonly [string, string]>, sweeps: number, problems: string[]): Promise<number> {
  let passes = 0;
  for (let s = 0; s < sweeps; s++) {
    for (const [local, remote] of rng.shuffle(edges)) {
      const result = await runOnce(configFile(local, [remote]));
      passes++;
      if (result.code !== 0) problems.push(`once ${remote} -> ${local} exited ${result.code}: ${result.stderr.trim()} ${lastError(result.stdout)}`);
      await waitForQueueDrained(local, DRAIN_MS);
    }
  }
  return passes;
}

function lastError(stdout: string): string {
  const errors = stdout.split('\n').filter((line) => /"level":(50|60)|"level":"(error|fatal)"/.test(line));
  return errors.slice(-3).join('\n');
}

export async function runRound(rng: Rng, servers: readonly string[], prefix: string, options: PlanOptions, log: (line: string) => void = console.log): Promise<RoundResult> {
  const started = Date.now();
  const plan = planRound(rng, servers, prefix, Date.now(), options);
  const { topology: topo, cutOff } = plan;
  const counts = plan.writes.reduce<Record<string, number>>((out, w) => ({ ...out, [w.command]: (out[w.command] ?? 0) + 1 }), {});
  log(`${prefix}: ${topo.kind} of ${topo.members.join(', ')}; ${cutOff} cut off; writes ${JSON.stringify(counts)}`);
  const problems: string[] = [];
  // In waves of at most one command per certname and server, each processed before the
  // next: PuppetDB 7.12.1 processing two commands of one certname at once can fail one
  // with a NullPointerException and then never retry it (queue_depth stays above 0).
  // The plan's order is kept per certname and server.
  let pending = [...plan.writes];
  while (pending.length > 0) {
    const taken = new Set<string>();
    const wave: Write[] = [];
    const rest: Write[] = [];
    for (const write of pending) {
      const key = `${write.server} ${write.payload.certname}`;
      (taken.has(key) ? rest : wave).push(write);
      taken.add(key);
    }
    for (const write of wave) await submit(write);
    await Promise.all(topo.members.map((url) => waitForQueueDrained(url, DRAIN_MS)));
    pending = rest;
  }

  // The partition: the others sync without the cut-off server.
  const inside = topo.members.filter((url) => url !== cutOff);
  const insideEdges = topo.edges.filter(([local, remote]) => local !== cutOff && remote !== cutOff);
  let passes = await sweep(rng, insideEdges, insideEdges.length > 0 ? diameter(inside, insideEdges) + 1 : 0, problems);
  // Brought back: every server pulls from every neighbour at least twice, and a record crosses the diameter.
  passes += await sweep(rng, topo.edges, Math.max(2, diameter(topo.members, topo.edges) + 1), problems);

  const states = await Promise.all(topo.members.map((url) => stateOf(url, prefix)));
  for (const entity of Object.keys(states[0]!)) {
    const reference = JSON.stringify(states[0]![entity]);
    topo.members.forEach((url, i) => {
      if (JSON.stringify(states[i]![entity]) !== reference) {
        const [mine, theirs] = [states[0]![entity]!, states[i]![entity]!];
        const only = (a: string[], b: string[]) => a.filter((row) => !b.includes(row)).join('\n    ');
        problems.push(`${entity} differ: only on ${topo.members[0]}:\n    ${only(mine, theirs)}\n  only on ${url}:\n    ${only(theirs, mine)}`);
      }
    });
  }
  const written = new Set(plan.writes.map((w) => w.payload.certname));
  const present = new Set(states[0]!.nodes!.map((row) => (JSON.parse(row) as { certname: string }).certname));
  for (const certname of written) if (!present.has(certname)) problems.push(`${certname} is on no server of ${topo.members[0]}`);

  // `diff` from every member against all the others finds nothing of the prefix.
  const quiet = createLogger('fatal');
  for (const local of topo.members) {
    const others = topo.members.filter((url) => url !== local);
    const config = await parseConfig(configText(local, others), 'random-convergence.conf');
    const report = await measureDivergence(config, quiet, { certnameFilter: (certname) => certname.startsWith(`${prefix}-`) });
    for (const remote of report.remotes) {
      for (const entity of remote.entities) {
        if ('error' in entity) problems.push(`diff ${remote.remote} -> ${local} ${entity.entity}: ${entity.error.message}`);
        else if (entity.missing + entity.older + entity.tied > 0) problems.push(`diff ${remote.remote} -> ${local} ${entity.entity}: ${JSON.stringify(entity)}`);
      }
    }
  }
  const elapsedMs = Date.now() - started;
  log(`${prefix}: ${passes} passes, ${elapsedMs} ms, ${problems.length === 0 ? 'converged' : `${problems.length} problems`}`);
  return { plan, passes, elapsedMs, problems };
}

/** A prefix unique to the run and round. */
export const roundPrefix = (seed: number, round: number) => `rnd-${seed.toString(36)}-${Date.now().toString(36)}-${round}`;

