// Real Puppet runs for the integration tests: Debian's puppet and
// puppet-terminus-puppetdb, `puppet apply` writing its facts, catalog and report
// through the PuppetDB terminus, with a configuration of its own (the test CA's
// certificates, a puppetdb.conf the test writes).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ALLOWED_CLIENT } from '../../scripts/cluster-tls.ts';
import { testPkiAt } from '../../scripts/test-pki.ts';
import { query } from './pdb.ts';

/** The one certname the servers' certificate-allowlist names: the node of every run. */
export const NODE = ALLOWED_CLIENT;

export function ensurePuppet(): void {
  const missing = ['puppet', 'puppet-terminus-puppetdb'].filter((name) => spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' }).stdout !== 'install ok installed');
  if (missing.length === 0) return;
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (install.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} exited ${install.status}`);
}

/**
 * A Puppet configuration folder: the test CA's certificates for NODE, the PuppetDB
 * terminus for facts, catalog and report, and `puppetdbConf` as its puppetdb.conf.
 */
export function puppetConfDir(pkiDir: string, puppetdbConf: string): string {
  const pki = testPkiAt(pkiDir);
  const root = mkdtempSync(join(tmpdir(), 'pdbsync-puppet-'));
  const ssl = join(root, 'ssl');
  for (const dir of ['certs', 'private_keys']) mkdirSync(join(ssl, dir), { recursive: true });
  copyFileSync(pki.ca, join(ssl, 'certs', 'ca.pem'));
  copyFileSync(pki.cert(NODE).cert, join(ssl, 'certs', `${NODE}.pem`));
  copyFileSync(pki.cert(NODE).key, join(ssl, 'private_keys', `${NODE}.pem`));
  writeFileSync(
    join(root, 'puppet.conf'),
    ['[main]', `certname = ${NODE}`, `ssldir = ${ssl}`, `vardir = ${join(root, 'var')}`, `logdir = ${join(root, 'log')}`, `rundir = ${join(root, 'run')}`, `codedir = ${join(root, 'code')}`,
      // The test CA's CRL revokes a server these runs do not use; Puppet would want it for the whole chain.
      'certificate_revocation = false', 'storeconfigs = true', 'storeconfigs_backend = puppetdb', 'reports = puppetdb', ''].join('\n'),
  );
  writeFileSync(join(root, 'puppetdb.conf'), puppetdbConf);
  writeFileSync(join(root, 'routes.yaml'), '---\napply:\n  facts:\n    terminus: facter\n    cache: puppetdb_apply\n');
  return root;
}

export interface PuppetRun {
  /** 0: nothing changed, 2: something changed (--detailed-exitcodes); anything else failed. */
  readonly status: number | null;
  readonly output: string;
}

/** `puppet apply` of a notify with `message`: every run has a report of its own. */
export function applyNotify(confdir: string, message: string): PuppetRun {
  const run = spawnSync('puppet', ['apply', '--confdir', confdir, '--detailed-exitcodes', '-e', `notify { ${JSON.stringify(message)}: }`], { encoding: 'utf8', env: { ...process.env, HOME: confdir } });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}

/** A run that succeeded: exit 0 or 2 (the notify changed something); 1, 4 and 6 are failures. */
export function expectRunSucceeded(run: PuppetRun): void {
  expect([0, 2], run.output).toContain(run.status);
}

export interface StoredRuns {
  readonly factset: string | undefined;
  readonly catalog: string | undefined;
  /** The hashes of NODE's reports produced at or after `since`, sorted. */
  readonly reports: readonly string[];
}

/** What `url` holds of NODE: its factset's and catalog's hashes, and its reports since `since`. */
export async function storedOn(url: string, since: string): Promise<StoredRuns> {
  const mine = ['=', 'certname', NODE];
  const [factsets, catalogs, reports] = await Promise.all([
    query(url, ['from', 'factsets', ['extract', ['hash'], mine]]),
    query(url, ['from', 'catalogs', ['extract', ['hash'], mine]]),
    query(url, ['from', 'reports', ['extract', ['hash'], ['and', mine, ['>=', 'producer_timestamp', since]]]]),
  ]);
  return { factset: factsets[0]?.hash as string | undefined, catalog: catalogs[0]?.hash as string | undefined, reports: reports.map((row) => String(row.hash)).sort() };
}
