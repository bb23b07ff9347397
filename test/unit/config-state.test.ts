import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTestPki, type TestPki } from '../../scripts/test-pki.ts';
import { parseConfig } from '../../src/config/load.ts';
import { SyncError } from '../../src/errors.ts';

/** The state block opens on line 5. */
const MINIMAL = `local: { server_url: "http://127.0.0.1:8080" }
sync: {
  remotes: [ { server_url: "https://replica.example.net:8081" } ]
}
`;

let dir: string;
let file: string;
let pki: TestPki;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pdbsync-config-state-'));
  file = join(dir, 'sync.conf');
  pki = await makeTestPki(join(dir, 'pki'), { certs: [{ name: 'db', altNames: ['DNS:db.example.net'] }], revoked: [] });
  writeFileSync(join(dir, 'database.ini'), ['# PuppetDB', '[database]', 'subname = //db.example.net:5433/puppetdb?sslmode=verify-full&sslrootcert=' + pki.ca, 'username = puppetdb', 'password = from-ini', '[read-database]', 'username = reader', ''].join('\n'));
  writeFileSync(join(dir, 'no-subname.ini'), '[database]\nusername = puppetdb\n');
  writeFileSync(join(dir, 'password'), 's3cret-from-file\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (block: string) => parseConfig(`${MINIMAL}state: {\n${block}\n}\n`, file);

async function failure(block: string): Promise<SyncError> {
  const error = await load(block).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SyncError);
  return error as SyncError;
}

describe('config: the state block', () => {
  it('is absent unless written: the state then stays in memory', async () => {
    expect((await parseConfig(MINIMAL, file)).state).toBeUndefined();
  });

  it("reads PuppetDB's database.ini: subname, username, password and its TLS parameters", async () => {
    const { state } = await load('  database-ini: database.ini');
    expect(state).toMatchObject({ host: 'db.example.net', port: 5433, database: 'puppetdb', user: 'puppetdb', schema: 'puppetdb_sync', leaderElection: true, historyRetentionMs: 14 * 86_400_000 });
    expect(state!.password?.()).toBe('from-ini');
    expect(state!.ssl).toMatchObject({ mode: 'verify-full', ca: expect.stringContaining('BEGIN CERTIFICATE') });
    expect(state!.describe).toBe('db.example.net:5433/puppetdb');
  });

  it('lets explicit keys override database.ini', async () => {
    const { state } = await load('  database-ini: database.ini\n  username: sync\n  password-file: password\n  ssl-mode: disable');
    expect(state).toMatchObject({ user: 'sync', ssl: undefined });
    expect(state!.password?.()).toBe('s3cret-from-file');
  });

  it('reads a subname with the default port, and a libpq URL', async () => {
    expect((await load('  subname: "//127.0.0.1/puppetdb"\n  username: puppetdb')).state).toMatchObject({ host: '127.0.0.1', port: 5432, database: 'puppetdb', ssl: undefined, password: undefined });
    const { state } = await load('  url: "postgresql://sync:p%40ss@[::1]:6432/pdb?sslmode=require"');
    expect(state).toMatchObject({ host: '::1', port: 6432, database: 'pdb', user: 'sync', ssl: { mode: 'require' } });
    expect(state!.password?.()).toBe('p@ss');
  });

  it('never holds the password where JSON or a log line could show it', async () => {
    const config = await load('  subname: "//127.0.0.1/puppetdb"\n  username: puppetdb\n  password: hunter2');
    expect(JSON.stringify(config)).not.toContain('hunter2');
    const error = await failure('  subname: "//127.0.0.1/puppetdb"\n  username: puppetdb\n  password: [hunter2]');
    expect(error.message).not.toContain('hunter2');
    expect((await failure('  url: "postgresql://u:hunter2@/"')).message).not.toContain('hunter2');
  });

  const failures: Array<[string, string, RegExp]> = [
    ['no connection', '  schema: x', /^state: give one of database-ini, subname or url at .*sync\.conf:5$/],
    ['two connections', '  subname: "//h/db"\n  url: "postgresql://u@h/db"', /^state\.url: give only one of subname, url at .*sync\.conf:7$/],
    ['a subname that is not one', '  subname: "//h"', /^state\.subname: "\/\/h" is not a subname like .* at .*:6$/],
    ['no role anywhere', '  subname: "//h/db"', /^state\.username: missing: subname names no role at .*:5$/],
    ['a database.ini without subname', '  database-ini: no-subname.ini', /^state\.database-ini: ".*no-subname\.ini" has no subname in a \[database\] section at .*:6$/],
    ['a missing database.ini', '  database-ini: nowhere.ini', /^state\.database-ini: ".*nowhere\.ini": no such file at .*:6$/],
    ['password and password-file', '  url: "postgresql://u@h/db"\n  password: a\n  password-file: password', /^state\.password-file: give password or password-file, not both at .*:8$/],
    ['verify-full without a CA', '  url: "postgresql://u@h/db"\n  ssl-mode: verify-full', /^state\.ssl-mode: verify-full needs ssl-root-cert.* at .*:7$/],
    ['an unknown sslmode', '  url: "postgresql://u@h/db?sslmode=prefer"', /^state\.url: sslmode="prefer" is not one of disable, require, verify-ca, verify-full at .*:6$/],
    ['a schema that is no identifier', '  url: "postgresql://u@h/db"\n  schema: "Sync-State"', /^state\.schema: "Sync-State" is not a lower-case PostgreSQL identifier at .*:7$/],
    ['leader-election not a boolean', '  url: "postgresql://u@h/db"\n  leader-election: maybe', /^state\.leader-election: "maybe" is not true or false at .*:7$/],
  ];
  it.each(failures)('refuses %s, naming the key, the file and the line', async (_name, block, message) => {
    const error = await failure(block);
    expect(error.code).toMatch(/^PDBSYNC_ERR_CONFIG_/);
    expect(error.message.replace(/^PDBSYNC_ERR_CONFIG_\w+: [^:]*: /, '')).toMatch(message);
  });
});
