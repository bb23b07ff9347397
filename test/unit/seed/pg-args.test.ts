import { describe, expect, it } from 'vitest';
import type { DatabaseConnection } from '../../../src/config/types.ts';
import { dumpArgs, libpqEnvironment, pgpassLine, restoreArgs, serverMajor, toolMajor } from '../../../src/seed/pg-args.ts';

const PASSWORD = 'se:cr\\et';
const peer: DatabaseConnection = {
  host: 'pdb2.example.net',
  port: 5432,
  database: 'puppetdb',
  user: 'seed',
  password: () => PASSWORD,
  ssl: { mode: 'verify-full', ca: '-----BEGIN CERTIFICATE-----' },
  describe: 'pdb2.example.net:5432/puppetdb',
};

describe('pg_dump and pg_restore arguments', () => {
  it('dump the schema public in directory format with jobs, no owners, no grants, never asking for a password', () => {
    expect(dumpArgs('/var/tmp/x/dump', 4)).toEqual(['--format=directory', '--jobs=4', '--file=/var/tmp/x/dump', '--schema=public', '--no-owner', '--no-privileges', '--no-password']);
  });

  it('restore the objects of public (not the schema, not the extensions), stopping at the first error, the database from the environment', () => {
    const args = restoreArgs('/var/tmp/x/dump', 2);
    expect(args).toEqual(expect.arrayContaining(['--jobs=2', '--schema=public', '--exit-on-error', '--no-owner', '--no-privileges', '--dbname=postgresql://']));
    expect(args.at(-1)).toBe('/var/tmp/x/dump');
  });

  it('never carry the password: libpq reads it from PGPASSFILE', () => {
    const env = libpqEnvironment(peer, { passFile: '/tmp/p/pgpass', rootCert: '/tmp/p/peer-root.pem' });
    const everything = [...dumpArgs('/d', 2), ...restoreArgs('/d', 2), ...Object.values(env)].join(' ');
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain('secret');
    expect(env).toMatchObject({ PGHOST: 'pdb2.example.net', PGPORT: '5432', PGDATABASE: 'puppetdb', PGUSER: 'seed', PGPASSFILE: '/tmp/p/pgpass', PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/tmp/p/peer-root.pem' });
    expect(env).not.toHaveProperty('PGPASSWORD');
  });

  it('TLS off when the connection has none', () => {
    expect(libpqEnvironment({ ...peer, ssl: undefined }, { passFile: '/p' })).toMatchObject({ PGSSLMODE: 'disable' });
  });

  it('escape : and \\ in a pgpass line, as libpq reads it', () => {
    expect(pgpassLine(peer, PASSWORD)).toBe('pdb2.example.net:5432:puppetdb:seed:se\\:cr\\\\et\n');
  });
});

describe('PostgreSQL major versions', () => {
  it.each([
    ['pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)', 15],
    ['pg_restore (PostgreSQL) 17.2', 17],
    ['pg_dump (PostgreSQL) 9.6.24', 9.6],
    ['pg_dump (PostgreSQL) 18beta1', 18],
    ['something else', undefined],
  ])('of the tool saying %j: %s', (line, major) => {
    expect(toolMajor(line)).toBe(major);
  });

  it.each([
    [150018, 15],
    [170002, 17],
    [90624, 9.6],
  ])('of server_version_num %i: %s', (num, major) => {
    expect(serverMajor(num)).toBe(major);
  });
});
