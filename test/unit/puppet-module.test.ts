// The Puppet module (puppet/) without applying it (test/integration/puppet-apply.test.ts
// does): Puppet's own parser and EPP checker, puppet-lint, its metadata, and the
// configuration its template renders, loaded by the sidecar's own loader.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { loadSpoolConfig } from '../../src/config/load-spool.ts';
import { makeTestPki } from '../../scripts/test-pki.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const MODULE = join(ROOT, 'puppet');
const filesIn = (dir: string) => readdirSync(join(MODULE, dir)).map((name) => join(MODULE, dir, name));

function run(command: string, args: string[], cwd = MODULE) {
  return spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, HOME: mkdtempSync(join(tmpdir(), 'pdbsync-puppet-')) } });
}

/** Debian's puppet and puppet-lint, installed when missing (as root). */
beforeAll(() => {
  const missing = ['puppet', 'puppet-lint'].filter((command) => spawnSync(command, ['--version']).error !== undefined);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`${missing.join(' and ')} missing, and installing needs root: apt-get install ${missing.join(' ')}`);
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (install.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} exited ${install.status}`);
}, 300_000);

describe('the Puppet module', () => {
  it('passes puppet parser validate and puppet epp validate', () => {
    const parse = run('puppet', ['parser', 'validate', ...filesIn('manifests'), ...filesIn('types')]);
    expect(parse.stderr + parse.stdout).toBe('');
    expect(parse.status).toBe(0);
    const epp = run('puppet', ['epp', 'validate', ...filesIn('templates')]);
    expect(epp.stderr + epp.stdout).toBe('');
    expect(epp.status).toBe(0);
  });

  it('is clean for puppet-lint, which refuses a class outside its autoload path', () => {
    const lint = run('puppet-lint', ['--fail-on-warnings', '--relative', 'manifests', 'types']);
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
    const misplaced = mkdtempSync(join(tmpdir(), 'pdbsync-lint-'));
    cpSync(MODULE, misplaced, { recursive: true });
    writeFileSync(join(misplaced, 'manifests/extra.pp'), '# @summary misplaced\nclass puppetdb_sync::other {}\n');
    const refused = run('puppet-lint', ['--fail-on-warnings', '--relative', 'manifests'], misplaced);
    expect(refused.stdout).toContain('autoloader_layout');
    expect(refused.status).not.toBe(0);
  });

  it('has the metadata Puppet loads a module with, at the project\'s version', () => {
    const metadata = JSON.parse(readFileSync(join(MODULE, 'metadata.json'), 'utf8')) as Record<string, unknown>;
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    // Puppet refuses a module missing any of these (Puppet::Module#load_metadata).
    for (const key of ['source', 'author', 'version', 'license', 'dependencies']) expect(metadata, key).toHaveProperty(key);
    expect(metadata).toMatchObject({ name: expect.stringMatching(/-puppetdb_sync$/), version, dependencies: [] });
  });

  it('renders a configuration the sidecar loads: the local server from PuppetDB\'s conf.d, the remotes and the port given', async () => {
    const confDir = mkdtempSync(join(tmpdir(), 'pdbsync-conf.d-'));
    writeFileSync(join(confDir, 'jetty.ini'), '[jetty]\nhost = 0.0.0.0\nport = 8080\n');
    const values = `{ remotes => ['https://pdb2.example.net:8081', 'https://pdb3.example.net:8081'], interval => '7s', puppetdb_conf_dir => '${confDir}', http_port => 8096 }`;
    const render = run('puppet', ['epp', 'render', join(MODULE, 'templates/puppetdb-sync.conf.epp'), '--values', values]);
    expect(render.status, render.stderr).toBe(0);
    const file = join(confDir, 'puppetdb-sync.conf');
    writeFileSync(file, render.stdout);
    const config = await loadConfig(file);
    expect(config.local.serverUrl).toBe('http://127.0.0.1:8080');
    expect(config.sync.remotes.map((remote) => [remote.serverUrl, remote.intervalMs])).toEqual([['https://pdb2.example.net:8081', 7000], ['https://pdb3.example.net:8081', 7000]]);
    expect(config.http.port).toBe(8096);
  });

  it('renders a spool configuration the spool loads: https with Puppet\'s certificate to the terminus and to the servers', async () => {
    const ssldir = mkdtempSync(join(tmpdir(), 'pdbsync-ssldir-'));
    const pki = await makeTestPki(ssldir, { certs: [{ name: 'puppet.example.net', altNames: ['DNS:puppet.example.net'] }], revoked: [] });
    const { cert, key } = pki.cert('puppet.example.net');
    const values = `{ servers => ['https://pdb1.example.net:8081', 'https://pdb2.example.net:8081'], cert => '${cert}', key => '${key}', ca => '${pki.ca}', crl => '${pki.emptyCrl}', host => '0.0.0.0', port => 8097, allowlist => '${join(ssldir, 'allowlist')}' }`;
    const render = run('puppet', ['epp', 'render', join(MODULE, 'templates/spool.conf.epp'), '--values', values]);
    expect(render.status, render.stderr).toBe(0);
    writeFileSync(join(ssldir, 'allowlist'), 'puppet.example.net\n');
    const file = join(ssldir, 'spool.conf');
    writeFileSync(file, render.stdout);
    const config = await loadSpoolConfig(file);
    expect(config.spool.servers.map((server) => server.serverUrl)).toEqual(['https://pdb1.example.net:8081', 'https://pdb2.example.net:8081']);
    expect(config.http.port).toBe(8097);
    expect(config.http.tls?.allowlist).toEqual(['puppet.example.net']);
    expect(config.tls?.certFile).toBe(cert);
  });
});
