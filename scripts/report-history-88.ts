// The fleet's reports of report-history.ts written into a PuppetDB 8.8.1 database, laid out
// as 8.8.1 stores them. Read in its source (scf/migrate.clj migrations 85 and 86,
// scf/partitioning.clj, scf/storage.clj add-report!*) and checked on a live 8.8.1 database:
// - reports is partitioned declaratively, by LIST (latest): reports_latest holds each
//   node's newest non-plan report (latest = true, UNIQUE (certname), a foreign key to
//   certnames), reports_historical (latest = false) every other one, itself partitioned by
//   RANGE (producer_timestamp) into daily reports_YYYYMMDDz. There is no
//   certnames.latest_report_id any more: the nodes endpoint reads reports_latest.
// - add-report!* moves the node's previous latest report into reports_historical
//   (UPDATE reports SET latest = false: PostgreSQL moves the row between partitions) and
//   inserts the new one with latest = true; create-reports-partition makes a missing day
//   with CREATE TABLE IF NOT EXISTS ... PARTITION OF reports_historical FOR VALUES FROM
//   (day) TO (next day), which gives it the parent's indexes. The days migration 86
//   converted (the server pre-creates today -4..+3 at migration) keep 7.x's indexes too.
// - certnames_status (migration 85) has a row per node: deactivated and expired.
//
// Building a day's indexes after its insert is much faster than updating 19 of them row by
// row, but an index attached to its parent's cannot be dropped: the day is detached, its
// indexes (whatever it has) dropped, the rows inserted, the same indexes built again, and
// the day attached, which adopts them as its parent's.
import { DAY_MS, days, period, reportRowsSql, slotsPerNode, type Fleet } from './report-history.ts';

const FLEET_NODES = "certname LIKE 'fleet-%.example.net'";
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', '+00:00');

/** The statements that drop a detached day's indexes, saved first in fleet_indexes, and those that build them again. */
function dayIndexesSql(table: string): { drop: string[]; build: string[] } {
  const mine = `tbl = '${table}'`;
  return {
    drop: [
      'INSERT INTO fleet_indexes (tbl, name, constraint_def, index_def)',
      `SELECT '${table}', i.relname, (SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u')),`,
      `  pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = '${table}'::regclass;`,
      `DO $$ DECLARE d record; BEGIN FOR d IN SELECT * FROM fleet_indexes WHERE ${mine} LOOP`,
      "  IF d.constraint_def IS NULL THEN EXECUTE format('DROP INDEX %I', d.name);",
      "  ELSE EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', d.tbl, d.name); END IF;",
      'END LOOP; END $$;',
    ],
    build: [
      `DO $$ DECLARE d record; BEGIN FOR d IN SELECT * FROM fleet_indexes WHERE ${mine} LOOP`,
      '  IF d.constraint_def IS NULL THEN EXECUTE d.index_def;',
      "  ELSE EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I %s', d.tbl, d.name, d.constraint_def); END IF;",
      'END LOOP; END $$;',
    ],
  };
}

/** Certnames' certnames_status rows (8.5+): none deactivated or expired. */
export function fleetStatusSql(fleet: Fleet): string {
  return `INSERT INTO certnames_status (certname) SELECT format('fleet-%s.example.net', lpad(n::text, 6, '0')) FROM generate_series(0, ${fleet.nodes - 1}) AS n;`;
}

/**
 * Every node's reports of slots [from, to), after those of slots below `from` (calls in
 * ascending order): the previous latest reports become historical, slots [from, to - 1)
 * go into their days, slot to - 1 (each node's newest) into reports_latest; then ANALYZE.
 */
export function reportHistorySql88(fleet: Fleet, from: number, to: number): string {
  const p = period(fleet);
  const base = fleet.endMs - (slotsPerNode(fleet) - 1) * p;
  const last = to - 1;
  // Foreign keys' triggers skipped as in report-history.ts (reports_latest's to certnames).
  const sql: string[] = [
    'BEGIN;', 'SET LOCAL client_min_messages = warning;', 'SET LOCAL session_replication_role = replica;',
    "SET LOCAL work_mem = '256MB';", "SET LOCAL maintenance_work_mem = '256MB';",
    'CREATE TEMP TABLE fleet_indexes (tbl text, name text, constraint_def text, index_def text) ON COMMIT DROP;',
    // add-report!*: the node's latest report becomes historical before its newer one is stored.
    `UPDATE reports SET latest = false WHERE latest AND ${FLEET_NODES} AND report_type <> 'plan';`,
  ];
  for (const [suffix, start] of days(fleet, from, to)) {
    const table = `reports_${suffix}z`;
    const bounds = `FOR VALUES FROM ('${iso(start)}') TO ('${iso(start + DAY_MS)}')`;
    sql.push(`CREATE TABLE IF NOT EXISTS ${table} PARTITION OF reports_historical ${bounds};`);
    const kFrom = Math.max(from, Math.floor((start - base) / p));
    const kTo = Math.min(last - 1, Math.ceil((start + DAY_MS - base) / p));
    if (kFrom > kTo) continue;
    const { drop, build } = dayIndexesSql(table);
    sql.push(
      `ALTER TABLE reports_historical DETACH PARTITION ${table};`,
      ...drop,
      `${reportRowsSql(fleet, table, kFrom, kTo, `t >= ${start} AND t < ${start + DAY_MS}`, ['latest', 'false'])};`,
      ...build,
      `ALTER TABLE reports_historical ATTACH PARTITION ${table} ${bounds};`,
    );
  }
  sql.push(
    `${reportRowsSql(fleet, 'reports_latest', last, last, 'true', ['latest', 'true'])};`,
    'COMMIT;',
    // A partitioned table's ANALYZE recurses into every partition.
    'ANALYZE reports, certnames, certnames_status;',
  );
  return sql.join('\n');
}
