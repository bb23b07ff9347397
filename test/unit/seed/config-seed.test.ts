import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.ts';

/** The seed block opens on line 3. */
const MINIMAL = `local: { server_url: "http://127.0.0.1:8080" }
sync: { remotes: [ { server_url: "https://pdb2.example.net:8081" } ] }
`;

let dir: string;
let file: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pdbsync-config-seed-'));
  file = join(dir, 'sync.conf');
  mkdirSync(join(dir, 'conf.d'));
  writeFileSync(join(dir, 'conf.d', 'database.ini'), '[database]\nsubname = //localhost:5432/puppetdb\nusername = puppetdb\npassword = local-secret\n');
  writeFileSync(join(dir, 'conf.d', 'jetty.ini'), '[jetty]\nhost = 0.0.0.0\nport = 8080\n');
  writeFileSync(join(dir, 'peer.password'), 'peer-secret\n');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config: the seed block', () => {
  it('is absent unless written, even with a conf-dir that names the database', async () => {
    expect((await parseConfig(MINIMAL, file)).seed).toBeUndefined();
    expect((await parseConfig(`${MINIMAL}puppetdb: { conf-dir: conf.d }\n`, file)).seed).toBeUndefined();
  });

  it('reads the peer as the state block reads a database, and the local database from puppetdb.conf-dir\'s database.ini', async () => {
    const { seed } = await parseConfig(`${MINIMAL}puppetdb: { conf-dir: conf.d }\nseed: { peer: { subname: "//pdb2.example.net:5432/puppetdb?sslmode=require", username: seed, password-file: peer.password }, jobs: 4 }\n`, file);
    expect(seed).toMatchObject({ peer: { host: 'pdb2.example.net', database: 'puppetdb', user: 'seed', ssl: { mode: 'require' } }, local: { host: 'localhost', port: 5432, database: 'puppetdb', user: 'puppetdb' }, jobs: 4, workDir: '/var/tmp', timeLimitMs: 4 * 3_600_000 });
    expect(seed!.peer.password?.()).toBe('peer-secret');
    expect(seed!.local!.password?.()).toBe('local-secret');
    // No password where a log line of the configuration could take it.
    expect(JSON.stringify(seed)).not.toMatch(/secret/);
  });

  it('needs a peer, named at the seed block\'s line', async () => {
    await expect(parseConfig(`${MINIMAL}seed: { jobs: 2 }\n`, file)).rejects.toThrow(/^PDBSYNC_ERR_CONFIG_INVALID_VALUE: .*seed\.peer: give one of database-ini, subname or url at .*sync\.conf:3$/);
    await expect(parseConfig(`${MINIMAL}seed: { peer: { username: x } }\n`, file)).rejects.toThrow(/seed\.peer: give one of database-ini, subname or url at .*sync\.conf:3$/);
  });

  it('names seed.local-database-ini for a file without [database]', async () => {
    writeFileSync(join(dir, 'empty.ini'), '[jetty]\nport = 1\n');
    await expect(parseConfig(`${MINIMAL}seed: { peer: { url: "postgresql://seed@pdb2/puppetdb" }, local-database-ini: empty.ini }\n`, file)).rejects.toThrow(/^PDBSYNC_ERR_CONFIG_INVALID_VALUE: .*seed\.local-database-ini: ".*empty\.ini" has no subname in a \[database\] section at .*sync\.conf:3$/);
  });
});
