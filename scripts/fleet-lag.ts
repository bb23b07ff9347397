// Lag under `run`: how long a factset and a report written to A take to be served by B.
// Samples are written a few seconds apart at random, so they fall anywhere in the
// sidecar's cycle of wait and pass, as a fleet's runs do; one poller reads B for all
// samples in flight every 100 ms (one query per entity, not one per sample).
import { setTimeout as sleep } from 'node:timers/promises';
import { submit } from './bench-pdb.ts';
import { fleetCertname } from './report-history.ts';

export interface LagFigures {
  /** Milliseconds from submitting to A until B served it, per sample that arrived. */
  factsMs: number[];
  reportsMs: number[];
  /** Samples B had not served when the wait ended. */
  missed: number;
  /** Elapsed ms of each reconciliation that ran wholly within the window (`run` with a short reconcile-interval). */
  wholeReconciliationsMs?: number[];
}

interface Sample { certname: string; producerTimestamp: string; sentAt: number; facts?: number; report?: number }

const POLL_MS = 100;
const GIVE_UP_MS = 300_000;

async function query(url: string, ast: unknown): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`${url}/pdb/query/v4`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: ast }) });
  if (!res.ok) throw new Error(`query: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as Array<Record<string, unknown>>;
}

/** Marks the samples B now serves, for one entity. */
async function poll(b: string, pending: Sample[], entity: 'factsets' | 'reports', field: 'facts' | 'report'): Promise<void> {
  const waiting = pending.filter((s) => s[field] === undefined);
  if (waiting.length === 0) return;
  const match = ['or', ...waiting.map((s) => ['and', ['=', 'certname', s.certname], ['=', 'producer_timestamp', s.producerTimestamp]])];
  const filter = entity === 'reports' ? ['and', ['=', 'node_state', 'any'], ['null?', 'type', false], match] : ['and', ['=', 'node_state', 'any'], match];
  const rows = await query(b, ['from', entity, ['extract', ['certname', 'producer_timestamp'], filter]]);
  const now = Date.now();
  for (const row of rows) {
    const sample = waiting.find((s) => s.certname === row.certname && Date.parse(String(row.producer_timestamp)) === Date.parse(s.producerTimestamp));
    if (sample) sample[field] = now - sample.sentAt;
  }
}

function facts(certname: string, producerTimestamp: string, i: number) {
  return { certname, environment: 'production', producer: 'puppet.example.net', producer_timestamp: producerTimestamp, values: { kernel: 'Linux', lag_sample: i } };
}

/** A minimal agent report (store_report 8) of `certname`. */
export function fleetReport(certname: string, producerTimestamp: string) {
  return {
    certname, environment: 'production', producer: 'puppet.example.net', producer_timestamp: producerTimestamp,
    puppet_version: '7.23.0', report_format: 12, configuration_version: String(Date.parse(producerTimestamp)),
    start_time: new Date(Date.parse(producerTimestamp) - 30_000).toISOString(), end_time: producerTimestamp,
    transaction_uuid: null, catalog_uuid: null, code_id: null, job_id: null, cached_catalog_status: 'not_used',
    status: 'unchanged', noop: false, noop_pending: false, corrective_change: false, type: 'agent', metrics: [], logs: [], resources: [],
  };
}

/**
 * `samples` times, `meanGapMs` apart on average: a new factset (replace_facts 5) and a new
 * report (store_report 8) of one of the fleet's nodes, a different node each time (two
 * replace_facts of one node queued at once trouble PuppetDB 7.12.1), submitted to A.
 */
export async function measureLag(a: string, b: string, nodes: number, samples: number, meanGapMs: number): Promise<LagFigures> {
  const pending: Sample[] = [];
  const done: Sample[] = [];
  let writing = true;
  let failure: unknown;
  const writer = (async () => {
    for (let i = 0; i < samples; i++) {
      const certname = fleetCertname((i * 7919) % nodes);
      const producerTimestamp = new Date().toISOString();
      const sample: Sample = { certname, producerTimestamp, sentAt: Date.now() };
      pending.push(sample);
      await submit(a, 'replace_facts', 5, facts(certname, producerTimestamp, i));
      await submit(a, 'store_report', 8, fleetReport(certname, producerTimestamp));
      await sleep(meanGapMs * (0.5 + Math.random()));
    }
  })()
    .catch((error: unknown) => (failure = error))
    .finally(() => (writing = false));
  let lastSent = Date.now();
  while (writing || pending.length > 0) {
    await sleep(POLL_MS);
    await poll(b, pending, 'factsets', 'facts');
    await poll(b, pending, 'reports', 'report');
    for (const s of pending.filter((s) => s.facts !== undefined && s.report !== undefined)) done.push(...pending.splice(pending.indexOf(s), 1));
    if (writing) lastSent = Date.now();
    else if (Date.now() - lastSent > GIVE_UP_MS) break;
  }
  await writer;
  if (failure) throw failure;
  const all = [...done, ...pending];
  return {
    factsMs: all.flatMap((s) => (s.facts === undefined ? [] : [s.facts])),
    reportsMs: all.flatMap((s) => (s.report === undefined ? [] : [s.report])),
    missed: pending.length,
  };
}
