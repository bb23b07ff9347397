/**
 * The `seed` block: what `puppetdb-sync seed` copies from and with (docs/seeding.md).
 * The peer's database is named by the same connection keys as `state`; the local one
 * by PuppetDB's own database.ini. Only `seed` reads this block; the other commands
 * ignore it.
 */

import { connectionOptions } from './schema-state.ts';
import type { OptionSpec } from './schema.ts';

export const SEED_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'seed',
    type: { kind: 'object' },
    required: false,
    absentUnlessWritten: true,
    doc: '`puppetdb-sync seed`: fill the local PuppetDB\'s empty database from a peer PuppetDB\'s PostgreSQL database with pg_dump and pg_restore (docs/seeding.md).',
  },
  {
    key: 'seed.peer',
    type: { kind: 'object' },
    required: true,
    doc: 'The peer PuppetDB\'s database, read with one consistent snapshot. Give one of database-ini, subname or url; the role needs read access to every table of PuppetDB (docs/seeding.md#the-peers-postgresql).',
  },
  ...connectionOptions('seed.peer'),
  {
    key: 'seed.local-database-ini',
    type: { kind: 'path' },
    required: false,
    doc: 'The local PuppetDB\'s database.ini (or any of its ini files with a [database] section: subname, username, password, with sslmode and sslrootcert in the subname). Default: the file of puppetdb.conf-dir that holds [database].',
  },
  {
    key: 'seed.puppetdb-version',
    type: { kind: 'string', pattern: '^\\d+\\.\\d+\\.\\d+', describe: 'a PuppetDB version (8.8.1)' },
    required: false,
    doc: 'The local PuppetDB\'s version, which decides the newest peer schema it can run. Default: read from puppetdb-jar.',
  },
  {
    key: 'seed.puppetdb-jar',
    type: { kind: 'path' },
    required: false,
    doc: 'The local PuppetDB\'s jar, whose META-INF/maven/.../pom.properties gives its version. Default: /opt/puppetlabs/server/apps/puppetdb/puppetdb.jar (Puppet\'s packages), else /usr/share/puppetdb/puppetdb.jar (Debian\'s).',
  },
  {
    key: 'seed.pg-bin-dir',
    type: { kind: 'path' },
    required: false,
    doc: 'The folder of pg_dump and pg_restore (e.g. /usr/lib/postgresql/17/bin). Default: found on PATH. They must be at least as new as both PostgreSQL servers.',
  },
  {
    key: 'seed.work-dir',
    type: { kind: 'path' },
    required: false,
    default: '/var/tmp',
    doc: 'The dump is written in a new folder below this one and removed after the restore; it needs about as much free space as the peer\'s database less its indexes.',
  },
  {
    key: 'seed.jobs',
    type: { kind: 'integer', min: 1, max: 64 },
    required: false,
    default: 2,
    doc: 'Tables dumped and restored at once (pg_dump and pg_restore -j); each job is one more connection to the database.',
  },
  {
    key: 'seed.time-limit',
    type: { kind: 'duration', min: '1s' },
    required: false,
    default: '4h',
    doc: 'The dump, and then the restore, each stopped (and seed failed) when it runs longer.',
  },
];
