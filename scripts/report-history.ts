// A fleet's history written with SQL straight into a PuppetDB 7.12.1 database: N nodes
// (certname, a small factset, optionally a small catalog) and their agent reports, the
// same rows in every database it is run against, so that servers holding it are in step
// and no record of it ever needs transferring. Commands would take PuppetDB hours for
// a million reports (about 12 per second); this takes minutes.
//
// The schema is PuppetDB 7.12.1's, read in its source (scf/migrate.clj, scf/partitioning.clj,
// scf/storage.clj add-report!*) and checked on a live database against a report stored
// by a command:
// - reports are partitioned by inheritance into daily children reports_YYYYMMDDz, each
//   with a CHECK on producer_timestamp for its UTC day, four foreign keys and 16 indexes;
//   PuppetDB inserts into the child and creates it (create-reports-partition) when the
//   insert fails because it is missing: it pre-creates only today -4..+3 days at migration.
// - the report's id comes from reports_id_seq (the parent's default, inherited), and the
//   node's certnames.latest_report_id / latest_report_timestamp point at its newest agent
//   report (update-latest-report!): the nodes endpoint and latest_report? read them.
// - hash is a bytea (SHA-1 in PuppetDB, served hex-encoded); environment, producer and
//   status are ids into environments, producers and report_statuses, which differ between
//   databases, so rows refer to them by name.
//
// PuppetDB 8.8.1 lays reports out otherwise (declarative partitions, reports_latest):
// report-history-88.ts writes them there; `layout` below chooses by the server's version.
//
// The hashes here are not PuppetDB's hashes of the content: a server asked for such a
// report would store it under another hash. They are equal on every server, so a sync
// sees the same report on both sides and never asks.

import { fleetStatusSql, reportHistorySql88 } from './report-history-88.ts';

/** The report layout of a PuppetDB version: 7.12.1's inherited partitions, or 8.8.1's declarative ones (8.7+). */
export type Layout = '7.12.1' | '8.8.1';
export function layout(version: string): Layout {
  if (version === '7.12.1' || version === '8.8.1') return version;
  throw new Error(`report-history.ts writes PuppetDB 7.12.1's and 8.8.1's report layouts, not ${version}'s`);
}

export interface Fleet {
  nodes: number;
  reportsPerDay: number;
  days: number;
  /** Epoch ms of the newest report's producer_timestamp (the fleet's last run ends here). */
  endMs: number;
  /** receive_time = producer_timestamp + this; PuppetDB's own clock when it stored the report. */
  receiveDelayMs: number;
  /** A catalog of two resources and one edge per node. */
  catalogs: boolean;
}

/** A fleet's size, and the steps its reports are written in. */
export interface FleetSize { nodes: number; reportsPerDay: number; days: number; steps: number }

/**
 * The fleets the benchmarks write by name: `fleet`, 10,000 nodes with 40 reports a day
 * over 3 days (1.2 million), and `100k`, 100,000 nodes with 10 a day over 10 days (10
 * million; within the default report-ttl of 14 days), written in one step.
 */
export const FLEET_SIZES: Readonly<Record<string, FleetSize>> = {
  fleet: { nodes: 10_000, reportsPerDay: 40, days: 3, steps: 3 },
  '100k': { nodes: 100_000, reportsPerDay: 10, days: 10, steps: 1 },
};

/** The command-line options (node:util parseArgs) that choose a fleet: --size, and the parts of it to override. */
export const FLEET_SIZE_ARGS = {
  size: { type: 'string', default: 'fleet' },
  nodes: { type: 'string' },
  'reports-per-day': { type: 'string' },
  days: { type: 'string' },
  steps: { type: 'string' },
} as const;

export function fleetSize(name: string): FleetSize {
  const size = FLEET_SIZES[name];
  if (!size) throw new Error(`--size must be one of ${Object.keys(FLEET_SIZES).join(', ')}, got ${name}`);
  return size;
}

export const DAY_MS = 86_400_000;
const ENVIRONMENT = 'production';
const PRODUCER = 'puppet.example.net';

/** Report slots per node: slot k of node n is its (k+1)-th run, oldest first. */
export function slotsPerNode(fleet: Fleet): number {
  return fleet.days * fleet.reportsPerDay;
}

/** Milliseconds between two runs of one node. */
export function period(fleet: Fleet): number {
  return Math.floor(DAY_MS / fleet.reportsPerDay);
}

/** producer_timestamp (epoch ms, SQL) of slot `k` of node `n`: nodes spread evenly over one period. */
function slotMs(fleet: Fleet, k: string, n: string): string {
  const p = period(fleet);
  const base = fleet.endMs - (slotsPerNode(fleet) - 1) * p;
  return `(${base}::bigint + ${k}::bigint * ${p} - (${n}::bigint * ${p}) / ${fleet.nodes})`;
}

// Constants rather than jsonb_build_object per row: building them took half the insert's time.
const METRIC_VARIANTS = 7;
const METRICS = `ARRAY[${Array.from({ length: METRIC_VARIANTS }, (_, i) => {
  const metrics = [
    { category: 'time', name: 'total', value: 12.5 + i },
    { category: 'resources', name: 'total', value: 2 },
    { category: 'events', name: 'total', value: 0 },
  ];
  return `'${JSON.stringify(metrics)}'::jsonb`;
}).join(', ')}]`;
const LOG = `'${JSON.stringify([{ file: null, line: null, level: 'notice', source: 'Puppet', tags: ['notice'], message: 'Applied catalog', time: '' }])}'::jsonb`;
const ts = (ms: string) => `(timestamptz 'epoch' + (${ms}) * interval '1 millisecond')`;
const certname = (n: string) => `format('fleet-%s.example.net', lpad(${n}::text, 6, '0'))`;
/** The certname of node `n`, as the SQL writes it. */
export const fleetCertname = (n: number): string => `fleet-${String(n).padStart(6, '0')}.example.net`;
const lookups = [
  `(SELECT id FROM environments WHERE environment = '${ENVIRONMENT}') AS environment_id`,
  `(SELECT id FROM producers WHERE name = '${PRODUCER}') AS producer_id`,
  `(SELECT id FROM report_statuses WHERE status = 'changed') AS changed_id`,
  `(SELECT id FROM report_statuses WHERE status = 'unchanged') AS unchanged_id`,
].join(', ');

/** Certnames, factsets and (optionally) catalogs of every node, as of its newest run. */
export function fleetNodesSql(fleet: Fleet, into: Layout = '7.12.1'): string {
  const last = String(slotsPerNode(fleet) - 1);
  const at = ts(slotMs(fleet, last, 'n'));
  const received = ts(`${slotMs(fleet, last, 'n')} + ${fleet.receiveDelayMs}`);
  const nodes = `FROM ids, generate_series(0, ${fleet.nodes - 1}) AS n`;
  const sql = [
    `INSERT INTO environments (environment) VALUES ('${ENVIRONMENT}') ON CONFLICT DO NOTHING;`,
    `INSERT INTO producers (name) VALUES ('${PRODUCER}') ON CONFLICT DO NOTHING;`,
    `INSERT INTO report_statuses (status) VALUES ('changed'), ('unchanged') ON CONFLICT DO NOTHING;`,
    `INSERT INTO certnames (certname) SELECT ${certname('n')} FROM generate_series(0, ${fleet.nodes - 1}) AS n;`,
    ...(into === '8.8.1' ? [fleetStatusSql(fleet)] : []),
    `WITH ids AS (SELECT ${lookups})`,
    'INSERT INTO factsets (certname, timestamp, environment_id, hash, producer_timestamp, producer_id, stable, volatile)',
    `SELECT ${certname('n')}, ${received}, environment_id, digest(${certname('n')} || '/facts', 'sha1'), ${at}, producer_id,`,
    `  jsonb_build_object('kernel', 'Linux', 'os', jsonb_build_object('family', 'Debian', 'release', '12'), 'fleet_index', n),`,
    `  jsonb_build_object('uptime_seconds', 86400 + n, 'memoryfree_mb', 1024 + n % 512)`,
    `${nodes};`,
  ];
  if (fleet.catalogs) sql.push(...catalogSql(fleet, at, received, nodes));
  return sql.join('\n');
}

/**
 * One catalog per node: Stage[main] containing Class[Main]. catalog_resources.resource
 * is a key into resource_params_cache (the resource's hash in PuppetDB), and edges join
 * catalog_resources on it, so both resources have a cache row shared by every node.
 */
function catalogSql(fleet: Fleet, at: string, received: string, nodes: string): string[] {
  const resources = [['Stage', 'main'], ['Class', 'Main']] as const;
  const key = (type: string, title: string) => `digest('fleet-resource/${type}[${title}]', 'sha1')`;
  return [
    `INSERT INTO resource_params_cache (resource, parameters) VALUES ${resources.map(([type, title]) => `(${key(type, title)}, '{}')`).join(', ')} ON CONFLICT DO NOTHING;`,
    `WITH ids AS (SELECT ${lookups})`,
    'INSERT INTO catalogs (hash, transaction_uuid, certname, producer_timestamp, api_version, timestamp, catalog_version, environment_id, catalog_uuid, producer_id)',
    `SELECT digest(${certname('n')} || '/catalog', 'sha1'), md5(${certname('n')} || '/catalog-transaction')::uuid, ${certname('n')}, ${at}, 1, ${received},`,
    `  (${slotMs(fleet, String(slotsPerNode(fleet) - 1), 'n')} / 1000)::text, environment_id, md5(${certname('n')} || '/catalog')::uuid, producer_id`,
    `${nodes};`,
    'INSERT INTO catalog_resources (resource, tags, type, title, exported, certname_id)',
    `SELECT r.resource, r.tags, r.type, r.title, false, c.id FROM generate_series(0, ${fleet.nodes - 1}) AS n`,
    `  JOIN certnames c ON c.certname = ${certname('n')}`,
    `  CROSS JOIN (VALUES ${resources
      .map(([type, title]) => `(${key(type, title)}, ARRAY['${type.toLowerCase()}', '${title.toLowerCase()}'], '${type}', '${title}')`)
      .join(', ')}) AS r (resource, tags, type, title);`,
    'INSERT INTO edges (certname, source, target, type)',
    `SELECT ${certname('n')}, ${key('Stage', 'main')}, ${key('Class', 'Main')}, 'contains' FROM generate_series(0, ${fleet.nodes - 1}) AS n;`,
  ];
}

/** The UTC day partitions slots [from, to) fall into, as [suffix, start ms]. */
export function days(fleet: Fleet, from: number, to: number): Array<[string, number]> {
  const p = period(fleet);
  const base = fleet.endMs - (slotsPerNode(fleet) - 1) * p;
  // The last node of a slot runs this much before its first.
  const spread = Math.floor(((fleet.nodes - 1) * p) / fleet.nodes);
  const first = Math.floor((base + from * p - spread) / DAY_MS) * DAY_MS;
  const out: Array<[string, number]> = [];
  for (let day = first; day <= base + (to - 1) * p; day += DAY_MS) out.push([new Date(day).toISOString().slice(0, 10).replaceAll('-', ''), day]);
  return out;
}

/** The table of PuppetDB 7.12.1's create-reports-partition (scf/partitioning.clj), for one UTC day. */
function reportsPartitionTableSql(suffix: string, startMs: number): string {
  const s = `${suffix}z`;
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
  return [
    `CREATE TABLE IF NOT EXISTS reports_${s} (`,
    `CHECK ( "producer_timestamp" >= TIMESTAMP WITH TIME ZONE '${iso(startMs)}' AND "producer_timestamp" < TIMESTAMP WITH TIME ZONE '${iso(startMs + DAY_MS)}' ),`,
    `CONSTRAINT reports_certname_fkey_${s} FOREIGN KEY (certname) REFERENCES certnames(certname) ON DELETE CASCADE,`,
    `CONSTRAINT reports_env_fkey_${s} FOREIGN KEY (environment_id) REFERENCES environments(id) ON DELETE CASCADE,`,
    `CONSTRAINT reports_prod_fkey_${s} FOREIGN KEY (producer_id) REFERENCES producers(id),`,
    `CONSTRAINT reports_status_fkey_${s} FOREIGN KEY (status_id) REFERENCES report_statuses(id) ON DELETE CASCADE`,
    `) INHERITS (reports);`,
  ].join('\n');
}

/** The 16 indexes create-reports-partition gives a day's partition: [name, definition]. */
function reportsPartitionIndexes(suffix: string): Array<[string, string]> {
  const s = `${suffix}z`;
  const indexes: Array<[string, string, string]> = [
    ['idx_reports_compound_id', '', '(producer_timestamp, certname, hash) WHERE (start_time IS NOT NULL)'],
    ['idx_reports_noop_pending', '', '(noop_pending) WHERE (noop_pending = true)'],
    ['idx_reports_prod', '', '(producer_id)'],
    ['idx_reports_producer_timestamp', '', '(producer_timestamp)'],
    ['idx_reports_producer_timestamp_by_hour_certname', '', "(date_trunc('hour'::text, timezone('UTC'::text, producer_timestamp)), producer_timestamp, certname)"],
    ['reports_cached_catalog_status_on_fail', '', "(cached_catalog_status) WHERE (cached_catalog_status = 'on_failure'::text)"],
    ['reports_catalog_uuid_idx', '', '(catalog_uuid)'],
    ['idx_reports_certname_end_time', '', '(certname,end_time)'],
    ['reports_end_time_idx', '', '(end_time)'],
    ['reports_environment_id_idx', '', '(environment_id)'],
    ['reports_hash_expr_idx', 'UNIQUE ', "(encode(hash, 'hex'::text))"],
    ['reports_job_id_idx', '', '(job_id) WHERE (job_id IS NOT NULL)'],
    ['reports_noop_idx', '', '(noop) WHERE (noop = true)'],
    ['reports_status_id_idx', '', '(status_id)'],
    ['reports_tx_uuid_expr_idx', '', '(((transaction_uuid)::text))'],
    ['idx_reports_id', 'UNIQUE ', '(id)'],
  ];
  return indexes.map(([name, unique, columns]) => [`${name}_${s}`, `CREATE ${unique}INDEX IF NOT EXISTS ${name}_${s} ON reports_${s} USING btree ${columns};`]);
}

/** The columns of a report row reportRowsSql writes. */
const REPORT_COLUMNS = [
  'hash, transaction_uuid, certname, puppet_version, report_format, configuration_version, start_time, end_time,',
  '  receive_time, noop, environment_id, status_id, producer_timestamp, metrics, logs, catalog_uuid, cached_catalog_status,',
  '  producer_id, noop_pending, corrective_change, report_type',
].join('\n');

/**
 * INSERT INTO `table` the reports of slots [kFrom, kTo] of every node whose producer_timestamp
 * (epoch ms `t`) satisfies `where`, in time order; `extra` adds [column, value] (8.8.1's latest).
 */
export function reportRowsSql(fleet: Fleet, table: string, kFrom: number, kTo: number, where: string, extra?: [string, string]): string {
  return [
    `WITH ids AS (SELECT ${lookups})`,
    `INSERT INTO ${table} (${REPORT_COLUMNS}${extra ? `, ${extra[0]}` : ''})`,
    `SELECT digest(c || '/report/' || k, 'sha1'), md5(c || '/transaction/' || k)::uuid, c, '7.23.0', 12, (t / 1000)::text,`,
    `  ${ts('t - 31000')}, ${ts('t - 1000')}, ${ts(`t + ${fleet.receiveDelayMs}`)}, false, environment_id,`,
    '  CASE WHEN (n + k) % 10 = 0 THEN changed_id ELSE unchanged_id END, ' + ts('t') + ',',
    `  (${METRICS})[1 + (n + k) % ${METRIC_VARIANTS}],`,
    `  jsonb_set(${LOG}, '{0,time}', to_jsonb(to_char(${ts('t - 1000')} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),`,
    `  md5(c || '/catalog')::uuid, 'not_used', producer_id, false, false, 'agent'${extra ? `, ${extra[1]}` : ''}`,
    `FROM ids, generate_series(${kFrom}, ${kTo}) AS k, generate_series(0, ${fleet.nodes - 1}) AS n,`,
    `  LATERAL (SELECT ${certname('n')} AS c, ${slotMs(fleet, 'k', 'n')} AS t) AS slot`,
    `WHERE ${where}`,
    // Within a slot the last node runs first: time order is k ascending, n descending.
    'ORDER BY k, n DESC',
  ].join('\n');
}

/**
 * Every node's reports of slots [from, to): one INSERT per day partition, rows in
 * producer_timestamp order as PuppetDB would have stored them; then the nodes' latest
 * report, and ANALYZE, as autovacuum would do on a server that had received them.
 */
export function reportHistorySql(fleet: Fleet, from: number, to: number, into: Layout = '7.12.1'): string {
  if (into === '8.8.1') return reportHistorySql88(fleet, from, to);
  const p = period(fleet);
  // The foreign keys' triggers would check every row against rows this writes itself;
  // skipping them (as pg_restore does) saves a quarter of the insert's time.
  const sql: string[] = ['BEGIN;', 'SET LOCAL client_min_messages = warning;', 'SET LOCAL session_replication_role = replica;', "SET LOCAL work_mem = '256MB';"];
  const touched: string[] = [];
  for (const [suffix, start] of days(fleet, from, to)) {
    const table = `reports_${suffix}z`;
    touched.push(table);
    const base = fleet.endMs - (slotsPerNode(fleet) - 1) * p;
    const kFrom = Math.max(from, Math.floor((start - base) / p));
    const kTo = Math.min(to - 1, Math.ceil((start + DAY_MS - base) / p));
    const indexes = reportsPartitionIndexes(suffix);
    sql.push(
      reportsPartitionTableSql(suffix, start),
      // A partition PuppetDB created already has its indexes: building them once after
      // the insert takes half the time of updating 16 indexes row by row.
      ...indexes.map(([name]) => `DROP INDEX IF EXISTS ${name};`),
      `${reportRowsSql(fleet, table, kFrom, kTo, `t >= ${start} AND t < ${start + DAY_MS}`)};`,
      ...indexes.map(([, definition]) => definition),
    );
  }
  // The newest report of every node in these slots is in slot to - 1, within one period.
  const newest = fleet.endMs - (slotsPerNode(fleet) - to + 1) * p;
  sql.push(
    'UPDATE certnames c SET latest_report_id = l.id, latest_report_timestamp = l.producer_timestamp',
    `FROM (SELECT DISTINCT ON (certname) certname, id, producer_timestamp FROM reports WHERE producer_timestamp > '${new Date(newest).toISOString()}' AND report_type = 'agent'`,
    '      ORDER BY certname, producer_timestamp DESC) AS l',
    'WHERE c.certname = l.certname AND (c.latest_report_timestamp IS NULL OR c.latest_report_timestamp < l.producer_timestamp);',
    'COMMIT;',
    `ANALYZE ${[...touched, 'reports', 'certnames'].join(', ')};`,
  );
  return sql.join('\n');
}
