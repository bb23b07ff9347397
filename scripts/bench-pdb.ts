// The benchmark's access to PuppetDB and its data: plain fetch (not the product's
// client, so the benchmark measures the product and nothing else), the hosts built
// from PuppetDB's own samples, and the clock that says when a server drained its queue.
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForQueueDrained } from './cluster.ts';
import { readSamples } from './samples.ts';

const PRODUCER = 'puppet.example.net';

export type Payload = { certname: string; producer_timestamp: string; [field: string]: unknown };

export async function submit(url: string, command: string, version: number, payload: Payload): Promise<void> {
  const params = new URLSearchParams({ command, version: String(version), certname: payload.certname, 'producer-timestamp': payload.producer_timestamp });
  const response = await fetch(`${url}/pdb/cmd/v1?${params}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  if (!response.ok) throw new Error(`${command} ${payload.certname}: HTTP ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

async function query(url: string, ast: unknown): Promise<Record<string, unknown>[]> {
  const response = await fetch(`${url}/pdb/query/v4`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: ast }) });
  if (!response.ok) throw new Error(`query ${JSON.stringify(ast)}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>[];
}

const ANY = ['=', 'node_state', 'any'];
async function count(url: string, entity: string, extra?: unknown): Promise<number> {
  const filter = entity === 'reports' ? ['and', ANY, ['null?', 'type', false]] : ANY;
  const rows = await query(url, ['from', entity, ['extract', [['function', 'count']], extra ? ['and', filter, extra] : filter]]);
  return Number(rows[0]?.count ?? 0);
}

export async function counts(url: string): Promise<string> {
  const out: string[] = [];
  for (const e of ['nodes', 'factsets', 'catalogs', 'reports']) out.push(`${e} ${await count(url, e)}`);
  return out.join(', ');
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * When the command queue of `url` drained: the time its depth was first seen 0 in a
 * run of three zeros 100 ms apart (a finer clock than waitForQueueDrained's, which
 * the caller runs afterwards to be sure every transaction committed).
 */
export async function drainedAt(url: string, timeoutMs = 1_800_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let firstZero = 0;
  let zeros = 0;
  while (Date.now() < deadline) {
    const at = Date.now();
    const res = await fetch(`${url}/status/v1/services/puppetdb-status`);
    const depth = ((await res.json()) as { status?: { queue_depth?: number } }).status?.queue_depth;
    if (depth === 0) {
      if (zeros++ === 0) firstZero = at;
      if (zeros >= 3) {
        await waitForQueueDrained(url, timeoutMs);
        return firstZero;
      }
    } else zeros = 0;
    await sleep(100);
  }
  throw new Error(`${url}: queue not drained after ${timeoutMs} ms`);
}

/** Removes one node and all its data from `url` (admin delete, synchronous). */
export async function deleteNode(url: string, certname: string): Promise<void> {
  const res = await fetch(`${url}/pdb/admin/v1/cmd`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ command: 'delete', version: 1, payload: { certname } }),
  });
  if (!res.ok) throw new Error(`delete ${certname}: HTTP ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

/** Deletes every node of `url` with the admin `delete` command. */
export async function emptyServer(url: string): Promise<void> {
  const nodes = await query(url, ['from', 'nodes', ['extract', ['certname'], ANY]]);
  await pool(nodes.map((n) => String(n.certname)), 4, (certname) => deleteNode(url, certname));
  const left = (await count(url, 'nodes')) + (await count(url, 'reports')) + (await count(url, 'catalogs')) + (await count(url, 'factsets'));
  if (left !== 0) throw new Error(`${url} not empty after deleting its nodes: ${await counts(url)}`);
}

// ---------------------------------------------------------------- data

const facts = readSamples('facts');
const catalogs = readSamples('catalogs');
const reports = readSamples('reports');
const certname = (i: number) => `host-${String(i).padStart(5, '0')}.example.net`;
const iso = (ms: number) => new Date(ms).toISOString();

/** The three records of host `i` at `at`; generation > 0 changes the facts and the catalog's content. */
export function hostRecords(i: number, at: number, generation: number): Array<[string, number, Payload]> {
  const name = certname(i);
  const producer_timestamp = iso(at);
  const fact = facts[i % facts.length]!;
  const factset: Payload = {
    ...fact,
    certname: name,
    producer: PRODUCER,
    producer_timestamp,
    values: { ...(fact.values as Record<string, unknown>), bench_generation: generation },
  };
  const { hash: _hash, ...catalog } = catalogs[i % catalogs.length]!;
  const resources = (catalog.resources as Array<Record<string, unknown>>).map((r, k) =>
    k === 0 && generation > 0 ? { ...r, parameters: { ...(r.parameters as object), bench_generation: generation } } : r,
  );
  const report = reports[i % reports.length]!;
  const start = iso(at - 30_000);
  const events = (res: Record<string, unknown>) => ((res.events as Array<Record<string, unknown>> | undefined) ?? []).map((e) => ({ ...e, timestamp: start }));
  return [
    ['replace_facts', 5, factset],
    ['replace_catalog', 9, { ...catalog, resources, certname: name, producer: PRODUCER, producer_timestamp, job_id: null }],
    [
      'store_report',
      8,
      {
        ...report,
        certname: name,
        producer: PRODUCER,
        producer_timestamp,
        start_time: start,
        end_time: producer_timestamp,
        type: 'agent',
        job_id: null,
        resources: ((report.resources as Array<Record<string, unknown>> | undefined) ?? []).map((res) => ({ ...res, timestamp: start, events: events(res) })),
        logs: ((report.logs as Array<Record<string, unknown>> | undefined) ?? []).map((l) => ({ ...l, time: start })),
      },
    ],
  ];
}

export interface DirectRate { commands: number; ms: number }

/** Submits the commands and measures how fast the server applies them (submit to drained). */
export async function feed(url: string, commands: Array<[string, number, Payload]>): Promise<DirectRate> {
  const t = Date.now();
  await pool(commands, 4, ([command, version, payload]) => submit(url, command, version, payload));
  const end = await drainedAt(url);
  return { commands: commands.length, ms: end - t };
}
