// `npm run package`: builds build/puppetdb-sync_VERSION-REVISION_ARCH.deb with dpkg-deb
// alone (no debhelper): the tree of scripts/package-tree.ts under /opt/puppetdb-sync,
// /usr/bin/puppetdb-sync, the systemd units (the sidecar's and the spool's), the configurations (conffiles), the
// documentation and the maintainer scripts of packaging/. docs/deploying.md
// describes the result; test/integration/package.test.ts installs it.
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, copyFileSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { shebangEnv, shebangFlags } from './bench-cli.ts';
import { run } from './os.ts';
import { debianCopyright } from './package-copyright.ts';
import { ROOT, stageApp } from './package-tree.ts';

const PACKAGING = join(ROOT, 'packaging');
const APP_PATH = 'opt/puppetdb-sync';
/** Bumped when the package changes and the project's version does not. */
const DEBIAN_REVISION = 1;
const DEB_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

/** The files that start the bin must start it as its shebang does: with its flags and its environment. */
function checkNodeFlags(): void {
  const flags = shebangFlags(join(ROOT, 'src/cli.ts')).join(' ');
  const command = `/${APP_PATH}/bin/node ${flags} /${APP_PATH}/dist/cli.js`;
  const assignments = Object.entries(shebangEnv(join(ROOT, 'src/cli.ts'))).map(([name, value]) => `${name}=${value}`);
  for (const file of ['puppetdb-sync.sh', 'puppetdb-sync.service', 'puppetdb-sync-spool.service']) {
    const text = readFileSync(join(PACKAGING, file), 'utf8');
    for (const expected of [command, ...assignments]) {
      if (!text.includes(expected)) throw new Error(`packaging/${file} does not hold "${expected}" (src/cli.ts's shebang)`);
    }
  }
}

function place(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
}

function write(to: string, content: string | Buffer): void {
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, content);
}

/** gzip -9n: maximal compression, no name or time in the header (Debian policy 12.3). */
const gzip9 = (file: string): Buffer => gzipSync(readFileSync(file), { level: 9 });

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => statSync(join(dir, name)).isFile());
}

/** The time the package is built from: SOURCE_DATE_EPOCH, else the last commit's, else now. */
async function buildTime(): Promise<Date> {
  if (process.env.SOURCE_DATE_EPOCH) return new Date(Number(process.env.SOURCE_DATE_EPOCH) * 1000);
  try {
    return new Date(Number((await run('git', ['-C', ROOT, 'log', '-1', '--format=%ct'])).trim()) * 1000);
  } catch {
    return new Date();
  }
}

function debianChangelog(version: string, maintainer: string, date: Date): string {
  // RFC 5322 date, as dpkg-parsechangelog wants it.
  const stamp = date.toUTCString().replace('GMT', '+0000');
  return `puppetdb-sync (${version}) unstable; urgency=medium

  * puppetdb-sync ${version.split('-')[0]}, packaged by scripts/package.ts. The changes
    of the program itself are in changelog.gz.

 -- ${maintainer}  ${stamp}
`;
}

/** Builds the package into `outDir`; returns its path. */
export async function buildPackage(outDir = join(ROOT, 'build')): Promise<string> {
  checkNodeFlags();
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const version = `${manifest.version}-${DEBIAN_REVISION}`;
  const tree = join(outDir, 'deb-root');
  rmSync(tree, { recursive: true, force: true });
  const app = join(tree, APP_PATH);
  const { modules, nodeVersion } = await stageApp(app);
  const time = await buildTime();
  const nodeArch = (await run(join(app, 'bin/node'), ['-p', 'process.arch'])).trim();
  const arch = DEB_ARCH[nodeArch];
  if (!arch) throw new Error(`no Debian architecture for Node.js's ${nodeArch}`);

  const doc = join(tree, 'usr/share/doc/puppetdb-sync');
  place(join(PACKAGING, 'puppetdb-sync.sh'), join(tree, 'usr/bin/puppetdb-sync'));
  place(join(PACKAGING, 'puppetdb-sync.service'), join(tree, 'lib/systemd/system/puppetdb-sync.service'));
  place(join(PACKAGING, 'puppetdb-sync-spool.service'), join(tree, 'lib/systemd/system/puppetdb-sync-spool.service'));
  place(join(PACKAGING, 'puppetdb-sync.conf'), join(tree, 'etc/puppetdb-sync/puppetdb-sync.conf'));
  place(join(PACKAGING, 'spool.conf'), join(tree, 'etc/puppetdb-sync/spool.conf'));
  write(join(tree, 'usr/share/man/man1/puppetdb-sync.1.gz'), gzip9(join(PACKAGING, 'puppetdb-sync.1')));
  place(join(PACKAGING, 'debian/lintian-overrides'), join(tree, 'usr/share/lintian/overrides/puppetdb-sync'));
  for (const file of ['README.md', 'docs/deploying.md', 'docs/configuration.md', 'docs/operations.md', 'docs/seeding.md']) {
    place(join(ROOT, file), join(doc, file.replace('docs/', '')));
  }
  write(join(doc, 'changelog.gz'), gzip9(join(ROOT, 'CHANGELOG.md')));
  write(join(doc, 'copyright'), debianCopyright(PACKAGING, app, APP_PATH, modules, nodeVersion));

  const control = readFileSync(join(PACKAGING, 'debian/control'), 'utf8');
  const maintainer = /^Maintainer: (.*)$/m.exec(control)![1]!;
  write(join(doc, 'changelog.Debian.gz'), gzipSync(debianChangelog(version, maintainer, time), { level: 9 }));

  const files = listFiles(tree);
  const conffiles = readFileSync(join(PACKAGING, 'debian/conffiles'), 'utf8').split('\n').filter(Boolean);
  // Installed-Size as dpkg-gencontrol counts it: KiB per file, rounded up.
  const installedSize = files.reduce((sum, file) => sum + Math.ceil(statSync(join(tree, file)).size / 1024), 0);
  // md5sums lists every file but the conffiles, which dpkg tracks on its own.
  const md5sums = files
    .filter((file) => !conffiles.includes(`/${file}`))
    .sort()
    .map((file) => `${createHash('md5').update(readFileSync(join(tree, file))).digest('hex')}  ${file}\n`)
    .join('');

  const debian = join(tree, 'DEBIAN');
  write(join(debian, 'control'), control.replace('@VERSION@', version).replace('@ARCH@', arch).replace('@INSTALLED_SIZE@', String(installedSize)));
  write(join(debian, 'md5sums'), md5sums);
  for (const script of ['conffiles', 'postinst', 'prerm', 'postrm']) place(join(PACKAGING, 'debian', script), join(debian, script));
  normalise(tree, time);

  const deb = join(outDir, `puppetdb-sync_${version}_${arch}.deb`);
  // xz -1: 35 MB in 16 s here, against 30 MB in 80 s at dpkg-deb's default level.
  await run('dpkg-deb', ['--root-owner-group', '-Zxz', '-z1', '--build', tree, deb]);
  rmSync(tree, { recursive: true });
  return deb;
}

/**
 * What Debian wants executable: ELF binaries, and scripts (#!) but those of the
 * bundled npm packages, whose commands the package does not offer (their shebang
 * names a system Node.js).
 */
function isProgram(path: string): boolean {
  const head = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return true;
  return head.subarray(0, 2).toString() === '#!' && !path.includes('/node_modules/');
}

/** Modes as Debian wants them, whatever the checkout or npm left, and one time for every file. */
function normalise(tree: string, time: Date): void {
  for (const path of [tree, ...readdirSync(tree, { recursive: true, encoding: 'utf8' }).map((name) => join(tree, name))]) {
    chmodSync(path, statSync(path).isDirectory() || isProgram(path) ? 0o755 : 0o644);
    utimesSync(path, time, time);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outIndex = process.argv.indexOf('--out');
  const deb = await buildPackage(outIndex > 0 ? process.argv[outIndex + 1] : undefined);
  console.log(deb);
}
