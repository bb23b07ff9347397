import { describe, expect, it } from 'vitest';
import { SyncError } from '../../../src/errors.ts';
import { isEmpty, refuseMissingExtensions, refuseNewerSchema, refuseNotEmpty, refuseOldTools, refuseRunning } from '../../../src/seed/guards.ts';
import type { Tool } from '../../../src/seed/pg-tools.ts';

/** The coded one-line message `act` throws. */
function refusal(act: () => void): string {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(SyncError);
    expect((error as Error).message).not.toContain('\n');
    return (error as Error).message;
  }
  throw new Error('did not refuse');
}

const tool = (name: 'pg_dump' | 'pg_restore', major: number): Tool => ({ name, file: `/usr/lib/postgresql/${major}/bin/${name}`, major });

describe('seed guards', () => {
  it('refuse a local PuppetDB whose port answers or which holds sessions on its database', () => {
    expect(() => refuseRunning('http://127.0.0.1:8080', false, [], 'db:5432/puppetdb')).not.toThrow();
    expect(refusal(() => refuseRunning('http://127.0.0.1:8080', true, [], 'db:5432/puppetdb'))).toBe(
      'PDBSYNC_ERR_SEED_LOCAL_RUNNING: the local PuppetDB is running (its server_url answers, or it holds sessions on its database): stop it (systemctl stop puppetdb) and seed again: http://127.0.0.1:8080 answers',
    );
    expect(refusal(() => refuseRunning('http://127.0.0.1:8080', false, [{ application: 'PostgreSQL JDBC Driver', user: 'puppetdb', count: 50 }], 'db:5432/puppetdb'))).toMatch(
      /: sessions on db:5432\/puppetdb: 50 of puppetdb \(PostgreSQL JDBC Driver\)$/,
    );
  });

  it('refuse a database holding any table or function of its own, not the extensions\'', () => {
    expect(isEmpty({ relations: 0, functions: 0 })).toBe(true);
    expect(() => refuseNotEmpty({ relations: 0, functions: 0 }, 'db/puppetdb')).not.toThrow();
    expect(refusal(() => refuseNotEmpty({ relations: 0, functions: 1 }, 'db/puppetdb'))).toMatch(/^PDBSYNC_ERR_SEED_LOCAL_NOT_EMPTY: .*--force.*: db\/puppetdb holds 0 tables, views and sequences and 1 functions in schema public$/);
  });

  it('refuse a peer schema newer than the local PuppetDB runs', () => {
    const local = (version: string) => ({ version, from: '/usr/share/puppetdb/puppetdb.jar' });
    expect(() => refuseNewerSchema(88, local('8.8.1'))).not.toThrow();
    expect(() => refuseNewerSchema(80, local('8.8.1'))).not.toThrow();
    expect(() => refuseNewerSchema(80, local('7.12.1'))).not.toThrow();
    expect(refusal(() => refuseNewerSchema(88, local('7.12.1')))).toMatch(/^PDBSYNC_ERR_SEED_SCHEMA_NEWER: .*: the peer's schema is 88, and PuppetDB 7\.12\.1 here \(\/usr\/share\/puppetdb\/puppetdb\.jar\) runs schema 80 at most$/);
    expect(refusal(() => refuseNewerSchema(85, local('8.5.0')))).toMatch(/PuppetDB 8\.5\.0 here .* runs schema 84 or a later one \(as 8\.4\.1 does/);
    expect(refusal(() => refuseNewerSchema(70, local('6.22.0')))).toMatch(/^PDBSYNC_ERR_SEED_PUPPETDB_VERSION: .*PuppetDB 6\.22\.0 .* is older than every release/);
  });

  it('refuse tools missing or older than either server', () => {
    const servers = { peer: 15, local: 16 };
    expect(() => refuseOldTools({ pg_dump: tool('pg_dump', 16), pg_restore: tool('pg_restore', 17) }, servers, undefined)).not.toThrow();
    expect(refusal(() => refuseOldTools({ pg_dump: undefined, pg_restore: tool('pg_restore', 17) }, servers, undefined))).toMatch(/^PDBSYNC_ERR_SEED_TOOLS: .*: no working pg_dump on PATH$/);
    expect(refusal(() => refuseOldTools({ pg_dump: tool('pg_dump', 17), pg_restore: tool('pg_restore', 15) }, servers, '/opt/pg/bin'))).toMatch(
      /: \/usr\/lib\/postgresql\/15\/bin\/pg_restore is PostgreSQL 15; the peer's server is 15 and the local one 16$/,
    );
  });

  it('refuse a local database without an extension of the peer\'s', () => {
    expect(() => refuseMissingExtensions(['pg_trgm', 'pgcrypto'], ['pgcrypto', 'pg_trgm', 'plpgsql'], 'db')).not.toThrow();
    expect(refusal(() => refuseMissingExtensions(['pg_trgm', 'pgcrypto'], ['pgcrypto'], 'db'))).toMatch(/^PDBSYNC_ERR_SEED_EXTENSIONS: .*CREATE EXTENSION.*: db lacks pg_trgm$/);
  });
});
