import { describe, expect, it } from 'vitest';
import type { StateConfig } from '../../../src/config/types.ts';
import { clientConfig, LOCK_CLASS, lockObject } from '../../../src/state/database.ts';

const base: StateConfig = {
  host: 'db.example.net',
  port: 5432,
  database: 'puppetdb',
  user: 'puppetdb',
  password: () => 'secret',
  ssl: undefined,
  schema: 'puppetdb_sync',
  leaderElection: true,
  historyRetentionMs: 1,
  describe: 'db.example.net:5432/puppetdb',
};

describe('state database: connection', () => {
  it('connects without TLS by default, with the password behind a function', () => {
    const config = clientConfig(base);
    expect(config).toMatchObject({ host: 'db.example.net', port: 5432, database: 'puppetdb', user: 'puppetdb', ssl: false, application_name: 'puppetdb-sync', query_timeout: 5_000 });
    expect(typeof config.password).toBe('function');
  });

  const modes: Array<[string, StateConfig['ssl'], Record<string, unknown>]> = [
    ['require: encrypted, not verified', { mode: 'require' }, { rejectUnauthorized: false }],
    ['verify-ca: the chain, not the name', { mode: 'verify-ca', ca: 'CA' }, { ca: 'CA', rejectUnauthorized: true, checkServerIdentity: expect.any(Function) }],
    ['verify-full: the chain and the name', { mode: 'verify-full', ca: 'CA', cert: 'C', key: 'K' }, { ca: 'CA', rejectUnauthorized: true, cert: 'C', key: 'K' }],
  ];
  it.each(modes)('maps ssl-mode %s', (_name, ssl, expected) => {
    const options = clientConfig({ ...base, ssl }).ssl as Record<string, unknown>;
    expect(options).toMatchObject(expected);
    if (ssl?.mode === 'verify-full') expect(options).not.toHaveProperty('checkServerIdentity');
  });
});

describe('state database: advisory lock keys', () => {
  it('are non-negative int4, one per purpose and schema, the same in every process', () => {
    const keys = [lockObject('leader', 'puppetdb_sync'), lockObject('migrate', 'puppetdb_sync'), lockObject('leader', 'other')];
    expect(new Set(keys).size).toBe(3);
    for (const key of [LOCK_CLASS, ...keys]) expect(key >= 0 && key <= 0x7fffffff && Number.isInteger(key)).toBe(true);
    expect(lockObject('leader', 'puppetdb_sync')).toBe(keys[0]);
  });
});
