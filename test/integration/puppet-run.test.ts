import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ALLOWED_CLIENT } from '../../scripts/cluster-tls.ts';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { testPkiAt } from '../../scripts/test-pki.ts';
import { query, syncInto, transferredWithPrefix, type RunResult } from './pdb.ts';

// A real Puppet run (Debian's puppet and puppet-terminus-puppetdb) writes its facts,
// catalog and report into server A through the real terminus, as docs/puppet.md sets
// it up but without command_broadcast; the sidecar then brings them to B.
const [serverA, serverB] = inject('pdbServers') as [string, string];
const https = inject('pdbHttps');
// The one certname the servers' certificate-allowlist names: the node of this run.
const NODE = ALLOWED_CLIENT;

function ensurePuppet(): void {
  const missing = ['puppet', 'puppet-terminus-puppetdb'].filter((name) => spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' }).stdout !== 'install ok installed');
  if (missing.length === 0) return;
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (install.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} exited ${install.status}`);
}

/** A Puppet configuration of its own: the test CA's certificates, the PuppetDB terminus for facts, catalog and report, server A only. */
function puppetConfDir(): string {
  const pki = testPkiAt(https!.pkiDir);
  const root = mkdtempSync(join(tmpdir(), 'pdbsync-puppet-'));
  const ssl = join(root, 'ssl');
  for (const dir of ['certs', 'private_keys']) mkdirSync(join(ssl, dir), { recursive: true });
  copyFileSync(pki.ca, join(ssl, 'certs', 'ca.pem'));
  copyFileSync(pki.cert(NODE).cert, join(ssl, 'certs', `${NODE}.pem`));
  copyFileSync(pki.cert(NODE).key, join(ssl, 'private_keys', `${NODE}.pem`));
  const indexA = https!.urls[0]!;
  writeFileSync(
    join(root, 'puppet.conf'),
    ['[main]', `certname = ${NODE}`, `ssldir = ${ssl}`, `vardir = ${join(root, 'var')}`, `logdir = ${join(root, 'log')}`, `rundir = ${join(root, 'run')}`, `codedir = ${join(root, 'code')}`,
      // The test CA's CRL revokes a server this run does not use; Puppet would want it for the whole chain.
      'certificate_revocation = false', 'storeconfigs = true', 'storeconfigs_backend = puppetdb', 'reports = puppetdb', ''].join('\n'),
  );
  writeFileSync(join(root, 'puppetdb.conf'), `[main]\nserver_urls = ${indexA}\nsoft_write_failure = false\n`);
  writeFileSync(join(root, 'routes.yaml'), '---\napply:\n  facts:\n    terminus: facter\n    cache: puppetdb_apply\n');
  return root;
}

interface Stored {
  factset: string | undefined;
  catalog: string | undefined;
  reports: string[];
}

async function storedOn(url: string, since: string): Promise<Stored> {
  const mine = ['=', 'certname', NODE];
  const [factsets, catalogs, reports] = await Promise.all([
    query(url, ['from', 'factsets', ['extract', ['hash'], mine]]),
    query(url, ['from', 'catalogs', ['extract', ['hash'], mine]]),
    query(url, ['from', 'reports', ['extract', ['hash'], ['and', mine, ['>=', 'producer_timestamp', since]]]]),
  ]);
  return { factset: factsets[0]?.hash as string | undefined, catalog: catalogs[0]?.hash as string | undefined, reports: reports.map((row) => String(row.hash)).sort() };
}

describe('a real Puppet run through the PuppetDB terminus, then the sidecar', () => {
  let since: string;
  let onA: Stored;
  let intoB: RunResult;

  beforeAll(async () => {
    if (!https) throw new Error('PDBSYNC_TEST_HTTPS_URLS is not set: the terminus talks https');
    ensurePuppet();
    const confdir = puppetConfDir();
    since = new Date(Date.now() - 1000).toISOString();
    const run = spawnSync('puppet', ['apply', '--confdir', confdir, '--detailed-exitcodes', '-e', 'notify { "puppetdb-sync test run": }'], { encoding: 'utf8', env: { ...process.env, HOME: confdir } });
    // --detailed-exitcodes: 2 means the run changed something (the notify), 0 nothing; 1, 4 and 6 are failures.
    expect([0, 2], `${run.stdout}\n${run.stderr}`).toContain(run.status);
    await waitForQueueDrained(serverA);
    onA = await storedOn(serverA, since);
    intoB = await syncInto(serverB, serverA);
  });

  it('stored the run on A: its factset, its catalog and its report', () => {
    expect(onA.factset).toMatch(/^[0-9a-f]{40}$/);
    expect(onA.catalog).toMatch(/^[0-9a-f]{40}$/);
    expect(onA.reports).toHaveLength(1);
  });

  it('brings them to B as Puppet wrote them: B computes the same hashes', async () => {
    expect(intoB.code).toBe(0);
    const moved = transferredWithPrefix(intoB, NODE);
    expect(moved.catalogs).toBe(1);
    expect(moved.reports).toBe(1);
    expect(await storedOn(serverB, since)).toEqual(onA);
  });

  it('then finds the servers in step: a second pass moves nothing of this node', async () => {
    expect(transferredWithPrefix(await syncInto(serverB, serverA), NODE)).toEqual({});
  });
});
