// What ships, without building the Debian package (test/integration/package.test.ts
// builds, installs and lints it): the npm tarball's contents, and the packaging files
// and the Dockerfile kept in step with each other and with the bin.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shebangEnv, shebangFlags } from '../../scripts/bench-cli.ts';
import { loadConfig } from '../../src/config/load.ts';
import { loadSpoolConfig } from '../../src/config/load-spool.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const FLAGS = shebangFlags(join(ROOT, 'src/cli.ts'));
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');
const CONFIG_PATH = '/etc/puppetdb-sync/puppetdb-sync.conf';
const SPOOL_CONFIG_PATH = '/etc/puppetdb-sync/spool.conf';
const PACKAGED_CLI = ['/opt/puppetdb-sync/bin/node', ...FLAGS, '/opt/puppetdb-sync/dist/cli.js'];

function npm(args: string[]): string {
  const result = spawnSync('npm', args, { cwd: ROOT, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

describe('the npm package', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pdbsync-pack-'));
  beforeAll(() => {
    // The tarball holds dist/ as it is: build it when this runs before `npm run build`.
    if (!existsSync(join(ROOT, 'dist/cli.js'))) npm(['run', 'build']);
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('holds the compiled program, the documentation and the license, nothing else', () => {
    const [pack] = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'])) as [{ files: { path: string }[] }];
    const files = pack.files.map((file) => file.path).sort();
    const sources = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'));
    const docs = readdirSync(join(ROOT, 'docs')).map((name) => `docs/${name}`);
    expect(files).toEqual(
      ['CHANGELOG.md', 'LICENSE', 'README.md', 'package.json', ...docs, ...sources.map((name) => `dist/${name.replace(/\.ts$/, '.js')}`)].sort(),
    );
  });

  it('runs from its tarball: the bin prints the version and the help', () => {
    npm(['pack', '--ignore-scripts', '--pack-destination', scratch]);
    const tarball = join(scratch, `puppetdb-sync-${manifest.version}.tgz`);
    expect(spawnSync('tar', ['-xzf', tarball, '-C', scratch]).status).toBe(0);
    // The dependencies, as `npm install` of the tarball would bring them.
    symlinkSync(join(ROOT, 'node_modules'), join(scratch, 'package/node_modules'));
    const bin = join(scratch, 'package', manifest.bin['puppetdb-sync']!);
    const version = spawnSync(process.execPath, [...FLAGS, bin, '--version'], { encoding: 'utf8' });
    expect(version.stdout).toBe(`${manifest.version}\n`);
    const help = spawnSync(process.execPath, [...FLAGS, bin, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('puppetdb-sync run --config FILE');
  });
});

describe('packaging files', () => {
  it('the wrapper and the unit start the packaged Node.js with the bin\'s flags', () => {
    const wrapper = read('packaging/puppetdb-sync.sh');
    expect(wrapper).toMatch(/^#!\/bin\/sh\n/);
    expect(wrapper).toContain(`exec ${PACKAGED_CLI.join(' ')} "$@"\n`);
    const unit = read('packaging/puppetdb-sync.service');
    expect(unit).toContain(`\nExecStart=${PACKAGED_CLI.join(' ')} run --config ${CONFIG_PATH}\n`);
    expect(unit).toContain('\nExecReload=/bin/kill -HUP $MAINPID\n');
    expect(unit).toContain('\nUser=puppetdb\n');
    expect(unit).toContain('\nRestart=on-failure\n');
  });

  it('the spool\'s unit starts the same Node.js as puppet, its journal the one writable path, and is hardened as the sidecar\'s', () => {
    const unit = read('packaging/puppetdb-sync-spool.service');
    expect(unit).toContain(`\nExecStart=${PACKAGED_CLI.join(' ')} spool --config ${SPOOL_CONFIG_PATH}\n`);
    expect(unit).toContain('\nExecReload=/bin/kill -HUP $MAINPID\n');
    expect(unit).toContain('\nUser=puppet\n');
    expect(unit).toContain('\nStateDirectory=puppetdb-sync/spool\n');
    expect(unit).not.toMatch(/^ReadWritePaths=/m);
    const settings = (text: string) => text.slice(text.indexOf('\nNoNewPrivileges=')).split('\n').filter((line) => /^[A-Z]\w+=/.test(line));
    const sidecar = settings(read('packaging/puppetdb-sync.service'));
    // The same hardening, but for PostgreSQL's socket, which the spool has no use for.
    expect(settings(unit)).toEqual(sidecar.map((line) => (line.startsWith('RestrictAddressFamilies=') ? 'RestrictAddressFamilies=AF_INET AF_INET6' : line)));
  });

  it('the wrapper, the unit and the image start it in the bin\'s environment', () => {
    const assignments = Object.entries(shebangEnv(join(ROOT, 'src/cli.ts'))).map(([name, value]) => `${name}=${value}`);
    expect(assignments).toEqual(['GLIBC_TUNABLES=glibc.malloc.mmap_threshold=32768']);
    for (const assignment of assignments) {
      expect(read('packaging/puppetdb-sync.sh')).toContain(`\nexport ${assignment}\nexec `);
      expect(read('packaging/puppetdb-sync.service')).toContain(`\nEnvironment=${assignment}\n`);
      expect(read('packaging/puppetdb-sync-spool.service')).toContain(`\nEnvironment=${assignment}\n`);
      expect(read('Dockerfile')).toContain(`\nENV ${assignment}\n`);
    }
  });

  it('the configuration is the conffile; both shipped configurations load, the image\'s with the API beyond loopback', async () => {
    expect(read('packaging/debian/conffiles')).toBe(`${CONFIG_PATH}\n${SPOOL_CONFIG_PATH}\n`);
    const spool = await loadSpoolConfig(join(ROOT, 'packaging/spool.conf'));
    expect(spool.http).toMatchObject({ host: '127.0.0.1', port: 8097 });
    expect(spool.spool.journalDir).toBe('/var/lib/puppetdb-sync/spool');
    const host = await loadConfig(join(ROOT, 'packaging/puppetdb-sync.conf'));
    expect(host.http).toMatchObject({ host: '127.0.0.1', port: 8095 });
    const container = await loadConfig(join(ROOT, 'packaging/container.conf'));
    expect(container.http).toMatchObject({ host: '0.0.0.0', port: 8095 });
  });
});

describe('the Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instruction = (name: string): string[] =>
    [...dockerfile.matchAll(new RegExp(`^${name} ((?:.*\\\\\\n)*.*)$`, 'gm'))].map((match) => match[1]!.replace(/\\\n\s*/g, ''));

  it('builds the Debian package as CI does and installs it', () => {
    // npm ci without the project's prepare, which needs the sources: only the `node` package's own script.
    expect(instruction('RUN')).toContain('npm ci --ignore-scripts && npm rebuild node');
    expect(instruction('RUN')).toContain('npm run package -- --out /out && cd /out && sha256sum puppetdb-sync_*.deb > SHA256SUMS');
    const install = instruction('RUN').find((run) => run.includes('apt-get install -y --no-install-recommends /out/puppetdb-sync_*.deb'));
    expect(install).toMatch(/^--mount=type=bind,from=build,source=\/out,target=\/out cd \/out && sha256sum -c \/tmp\/SHA256SUMS /);
    // Copied just before that RUN: podman's cache would otherwise keep an older package's layer.
    expect(dockerfile).toMatch(/^COPY --from=build \/out\/SHA256SUMS \/tmp\/\n(#.*\n)*RUN --mount/m);
    // The npm packages' layer comes before the sources: a change of the sources reuses it.
    expect(dockerfile).toMatch(/^COPY package\.json package-lock\.json \.\/\n(#.*\n)*RUN npm ci/m);
    expect(dockerfile.indexOf('RUN npm ci')).toBeLessThan(dockerfile.indexOf('COPY src'));
    // Everything the package script reads reaches the build stage.
    const copied = instruction('COPY').flatMap((copy) => copy.split(' ').slice(0, -1));
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'CHANGELOG.md', 'src', 'scripts', 'docs', 'packaging']));
    expect(read('.dockerignore').split('\n')).not.toEqual(expect.arrayContaining(['src', 'scripts', 'docs', 'packaging']));
  });

  it('runs the unit\'s command with the image\'s configuration, exposes the API and checks /health on it', async () => {
    expect(JSON.parse(instruction('ENTRYPOINT')[0]!)).toEqual(PACKAGED_CLI);
    expect(JSON.parse(instruction('CMD')[0]!)).toEqual(['run', '--config', CONFIG_PATH]);
    expect(instruction('COPY')).toContain(`packaging/container.conf ${CONFIG_PATH}`);
    expect(instruction('USER')).toEqual(['puppetdb']);
    const { port } = (await loadConfig(join(ROOT, 'packaging/container.conf'))).http;
    expect(instruction('EXPOSE')).toEqual([String(port)]);
    expect(instruction('HEALTHCHECK')[0]).toContain(`fetch('http://127.0.0.1:${port}/health')`);
  });
});
