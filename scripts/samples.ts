// PuppetDB's own benchmark sample data, read from the installed puppetdb jar.
import { execFileSync } from 'node:child_process';

const PDB_JAR = '/usr/share/puppetdb/puppetdb.jar';
const SAMPLES = 'puppetlabs/puppetdb/benchmark/samples';

export type SampleKind = 'facts' | 'catalogs' | 'reports';

function ensureUnzip(): void {
  try {
    execFileSync('unzip', ['-v'], { stdio: 'ignore' });
  } catch {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'unzip'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  }
}

/** The sample documents of one kind, parsed, in the jar's order. */
export function readSamples(kind: SampleKind): Record<string, unknown>[] {
  ensureUnzip();
  const names = execFileSync('unzip', ['-Z1', PDB_JAR, `${SAMPLES}/${kind}/*.json`], { encoding: 'utf8' })
    .split('\n')
    .filter((name) => name.endsWith('.json'));
  return names.map((name) => JSON.parse(execFileSync('unzip', ['-p', PDB_JAR, name], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Record<string, unknown>);
}
