import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const MANIFEST = new URL('../../examples/puppet/puppetdb_sync.pp', import.meta.url).pathname;

/** Puppet's own parser, from Debian's puppet package (installed when missing, as root). */
function puppet(args: string[]) {
  return spawnSync('puppet', args, { encoding: 'utf8', env: { ...process.env, HOME: mkdtempSync(join(tmpdir(), 'pdbsync-puppet-')) } });
}

beforeAll(() => {
  if (spawnSync('puppet', ['--version']).error === undefined) return;
  if (process.getuid?.() !== 0) throw new Error('puppet is missing and installing it needs root: apt-get install puppet');
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'puppet'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (install.status !== 0) throw new Error(`apt-get install puppet exited ${install.status}`);
}, 300_000);

describe('the example Puppet manifest', () => {
  it('passes puppet parser validate', () => {
    const result = puppet(['parser', 'validate', MANIFEST]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('is a manifest puppet parser validate can refuse: a broken copy fails', () => {
    const broken = join(mkdtempSync(join(tmpdir(), 'pdbsync-pp-')), 'broken.pp');
    writeFileSync(broken, 'class broken { file { "/x": ensure => file, }\n');
    expect(puppet(['parser', 'validate', broken]).status).not.toBe(0);
  });
});
