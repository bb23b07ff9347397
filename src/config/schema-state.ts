/**
 * The `state` block: the PostgreSQL database where the sidecar keeps its sync state
 * and elects a leader among the sidecars of one PuppetDB database. Its connection
 * keys are PuppetDB's own [database] keys, so an operator copies them, or names
 * PuppetDB's database.ini. schema.ts puts these in OPTIONS; state-database.ts reads
 * them into a connection.
 */

import type { OptionSpec } from './schema.ts';

/**
 * The keys of a PostgreSQL connection below `block`: PuppetDB's own [database] keys,
 * its database.ini, a subname or a libpq URL, with TLS. state-database.ts reads any
 * block of them (`state`, `seed.peer`) into a connection.
 */
export function connectionOptions(block: string): OptionSpec[] {
  return [
    {
      key: `${block}.database-ini`,
      type: { kind: 'path' },
      required: false,
      doc: 'PuppetDB\'s database.ini (or any of its ini files with a [database] section): its subname, username and password are used; the keys below override them.',
    },
    {
      key: `${block}.subname`,
      type: { kind: 'string', pattern: '^//', describe: 'a PuppetDB subname (//host:port/database)' },
      required: false,
      doc: 'As PuppetDB\'s [database] subname: //host:port/database, optionally with ?sslmode=...&sslrootcert=...&sslcert=...&sslkey=... as PuppetDB passes them to its JDBC driver.',
    },
    {
      key: `${block}.url`,
      type: { kind: 'string', pattern: '^postgres(ql)?://', describe: 'a libpq URL (postgresql://user@host:port/database)' },
      required: false,
      doc: 'A libpq connection URL instead: postgresql://user[:password]@host[:port]/database[?sslmode=...&sslrootcert=...].',
    },
    {
      key: `${block}.username`,
      type: { kind: 'string' },
      required: false,
      doc: 'The database role; overrides the one of database-ini or url.',
    },
    {
      key: `${block}.password`,
      type: { kind: 'secret' },
      required: false,
      doc: 'The role\'s password; never logged. Prefer password-file.',
    },
    {
      key: `${block}.password-file`,
      type: { kind: 'path' },
      required: false,
      doc: 'A file holding the role\'s password (a trailing newline is ignored); read at start, never logged.',
    },
    {
      key: `${block}.ssl-mode`,
      type: { kind: 'enum', values: ['disable', 'require', 'verify-ca', 'verify-full'] },
      required: false,
      doc: 'TLS to PostgreSQL, as libpq\'s sslmode: disable, require (encrypted, not verified), verify-ca (the server\'s certificate is signed by ssl-root-cert), verify-full (and names the host). Default: what subname or url says, else disable.',
    },
    {
      key: `${block}.ssl-root-cert`,
      type: { kind: 'path' },
      required: false,
      doc: 'PEM CA certificate(s) of the PostgreSQL server, for verify-ca and verify-full (e.g. Puppet\'s ssl/certs/ca.pem).',
    },
    {
      key: `${block}.ssl-cert`,
      type: { kind: 'path' },
      required: false,
      requiredWith: ['ssl-key'],
      doc: 'PEM client certificate, for PostgreSQL\'s cert authentication (e.g. the Puppet agent\'s certificate).',
    },
    {
      key: `${block}.ssl-key`,
      type: { kind: 'path' },
      required: false,
      requiredWith: ['ssl-cert'],
      doc: 'PEM private key of ssl-cert.',
    },
  ];
}

export const STATE_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'state',
    type: { kind: 'object' },
    required: false,
    absentUnlessWritten: true,
    doc: 'A PostgreSQL database (PuppetDB\'s own will do) that keeps watermarks, reconciliation times and pass history across restarts, and elects one leader among sidecars of one PuppetDB database. Without it the state is in memory (docs/operations.md#sync-state). Give one of database-ini, subname or url.',
  },
  ...connectionOptions('state'),
  {
    key: 'state.schema',
    type: { kind: 'string', pattern: '^[a-z_][a-z0-9_]{0,62}$', describe: 'a lower-case PostgreSQL identifier' },
    required: false,
    default: 'puppetdb_sync',
    doc: 'The schema the sidecar creates and migrates for its tables; sidecars with the same database and schema elect one leader.',
  },
  {
    key: 'state.leader-election',
    type: { kind: 'boolean' },
    required: false,
    default: 'true',
    doc: 'Only the sidecar holding the schema\'s advisory lock syncs; the others stand by. A sidecar that cannot reach the database does not sync. false: one sidecar only, which syncs on with its state in memory while the database is away.',
  },
  {
    key: 'state.history-retention',
    type: { kind: 'duration', min: '1h' },
    required: false,
    default: '14d',
    doc: 'Passes older than this are deleted from the pass history.',
  },
];
