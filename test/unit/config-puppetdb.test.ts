import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTestPki, type TestPki } from '../../scripts/test-pki.ts';
import { parseConfig } from '../../src/config/load.ts';
import { SyncError } from '../../src/errors.ts';

let dir: string;
let pki: TestPki;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pdbsync-config-puppetdb-'));
  pki = await makeTestPki(join(dir, 'pki'), { certs: [{ name: 'pdb1', altNames: ['DNS:pdb1.example.net'] }], revoked: [] });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(text: string, file: string): Promise<SyncError> {
  const error = await parseConfig(text, file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SyncError);
  return error as SyncError;
}

describe("config: Puppet Enterprise's sync block as it is", () => {
  it('needs no local block: local is PuppetDB\'s cleartext port on this host', async () => {
    const config = await parseConfig('sync: { remotes: [ { server_url: "https://pdb2.example.net", interval: 2m } ] }\n', join(dir, 'pe.conf'));
    expect(config.local.serverUrl).toBe('http://127.0.0.1:8080');
    expect(config.sync.remotes).toEqual([{ serverUrl: 'https://pdb2.example.net:8081', intervalMs: 120_000 }]);
  });
});

describe("config: Puppet Enterprise's ini form", () => {
  const file = () => join(dir, 'sync.ini');

  it('reads [sync] server_urls and intervals, and every other section as its block', async () => {
    const text = ['# PE', '[sync]', 'server_urls = https://pdb2.example.net:8081, http://pdb3.example.net', 'intervals = 2m,5m', 'node-purge-ttl = 7d', '', '[http]', 'port = 0', '[log]', 'level = warn', ''].join('\n');
    const config = await parseConfig(text, file());
    expect(config.sync.remotes).toEqual([
      { serverUrl: 'https://pdb2.example.net:8081', intervalMs: 120_000 },
      { serverUrl: 'http://pdb3.example.net:8080', intervalMs: 300_000 },
    ]);
    expect(config.sync.nodePurgeTtlMs).toBe(7 * 86_400_000);
    expect(config.http.port).toBe(0);
    expect(config.log.level).toBe('warn');
  });

  it('takes one interval for every URL, and none for the default', async () => {
    const one = await parseConfig('[sync]\nserver_urls = https://a.example.net,https://b.example.net\nintervals = 30s\n', file());
    expect(one.sync.remotes.map((remote) => remote.intervalMs)).toEqual([30_000, 30_000]);
    const none = await parseConfig('[sync]\nserver_urls = https://a.example.net\n', file());
    expect(none.sync.remotes[0]!.intervalMs).toBe(5_000);
  });

  const failures: Array<[string, string, RegExp]> = [
    ['intervals that do not match the URLs', '[sync]\nserver_urls = https://a.example.net,https://b.example.net\nintervals = 1m,2m,3m\n', /sync\.intervals: 3 intervals for 2 server_urls .* at .*sync\.ini:3$/],
    ['a bad interval, at its line', '[sync]\nserver_urls = https://a.example.net\nintervals = soon\n', /sync\.remotes\[0\]\.interval: "soon" is not a duration.* at .*sync\.ini:3$/],
    ['a bad URL, at its line', '\n[sync]\nserver_urls = ftp://a.example.net\n', /sync\.remotes\[0\]\.server_url: .*not an http or https URL at .*sync\.ini:3$/],
    ['an unknown key, at its line', '[sync]\nserver_urls = https://a.example.net\n[http]\nprot = 1\n', /http\.prot: unknown key.* at .*sync\.ini:4$/],
    ['a line that is not ini', '[sync]\nserver_urls\n', /"server_urls" is neither a \[section\] nor key = value at .*sync\.ini:2$/],
  ];
  it.each(failures)('refuses %s, naming the key, the file and the line', async (_name, text, message) => {
    expect((await failure(text, file())).message).toMatch(message);
  });
});

describe("config: defaults from PuppetDB's conf.d", () => {
  let confDir: string;

  beforeAll(() => {
    confDir = join(dir, 'conf.d');
    mkdirSync(confDir);
    // As Debian's puppetdb package ships them, with TLS and PE's sync section added.
    writeFileSync(join(confDir, 'config.ini'), '[global]\nvardir = /var/lib/puppetdb\n[puppetdb]\ndisable-update-checking = true\n');
    writeFileSync(join(confDir, 'database.ini'), '[database]\nsubname = //localhost/puppetdb\nusername = puppetdb\npassword = wQvOjWUVezE8\n');
    const cert = pki.cert('pdb1');
    writeFileSync(join(confDir, 'jetty.ini'), ['[jetty]', 'host = 0.0.0.0', 'port = 8080', 'ssl-host = 0.0.0.0', 'ssl-port = 8081', `ssl-key = ${cert.key}`, `ssl-cert = ${cert.cert}`, `ssl-ca-cert = ${pki.ca}`, `ssl-crl-path = ${pki.crl}`, ''].join('\n'));
    writeFileSync(join(confDir, 'sync.ini'), '[sync]\nserver_urls = https://pdb2.example.net:8081\nintervals = 2m\n');
  });

  it('takes the local URL and TLS files from [jetty], the remotes from [sync], the state database from [database]', async () => {
    const config = await parseConfig(`puppetdb: { conf-dir: "${confDir}" }\n`, join(dir, 'sidecar.conf'));
    expect(config.local.serverUrl).toBe('http://127.0.0.1:8080');
    expect(config.tls).toMatchObject({ certFile: pki.cert('pdb1').cert, keyFile: pki.cert('pdb1').key, caFile: pki.ca, crlFile: pki.crl });
    expect(config.sync.remotes).toEqual([{ serverUrl: 'https://pdb2.example.net:8081', intervalMs: 120_000 }]);
    expect(config.state).toMatchObject({ host: 'localhost', port: 5432, database: 'puppetdb', user: 'puppetdb' });
    expect(config.state!.password?.()).toBe('wQvOjWUVezE8');
  });

  it('lets keys written in the sidecar\'s file override what conf.d gives', async () => {
    const text = `puppetdb: { conf-dir: "${confDir}" }\nlocal: { server_url: "http://127.0.0.1:8090" }\nsync: { remotes: [ { server_url: "https://pdb9.example.net" } ] }\nstate: { leader-election: false }\n`;
    const config = await parseConfig(text, join(dir, 'sidecar.conf'));
    expect(config.local.serverUrl).toBe('http://127.0.0.1:8090');
    expect(config.sync.remotes.map((remote) => remote.serverUrl)).toEqual(['https://pdb9.example.net:8081']);
    expect(config.state).toMatchObject({ database: 'puppetdb', leaderElection: false });
  });

  it('names the conf.d file and line of a bad value found there', async () => {
    const bad = join(dir, 'bad.d');
    mkdirSync(bad);
    writeFileSync(join(bad, 'sync.ini'), '[sync]\n\nserver_urls = https://pdb2.example.net\nintervals = 2 minutes\n');
    const error = await failure(`puppetdb: { conf-dir: "${bad}" }\n`, join(dir, 'sidecar.conf'));
    expect(error.message).toMatch(/sync\.remotes\[0\]\.interval: "2 minutes" is not a duration.* at .*bad\.d\/sync\.ini:4$/);
  });

  it('names the key and line of a conf-dir that does not exist', async () => {
    const error = await failure(`\npuppetdb: { conf-dir: "${join(dir, 'nowhere')}" }\n`, join(dir, 'sidecar.conf'));
    expect(error.message).toMatch(/puppetdb\.conf-dir: ".*nowhere": no such folder at .*sidecar\.conf:2$/);
  });
});
