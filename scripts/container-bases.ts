// Stand-ins for the official base images the Dockerfile's FROM lines name, for podman
// on a host that cannot reach docker.io (test/integration/image.test.ts): a Debian
// made with mmdebstrap, and that Debian with Node.js and npm from the npm registry.
// Each is tagged with the official name it stands in for, so the Dockerfile builds
// unchanged, and kept in podman's own storage: the name is the cache key, so a
// Dockerfile naming another Debian release or Node.js major makes new ones.
// `node scripts/container-bases.ts` makes the missing ones.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './package-tree.ts';

/**
 * podman's global flags on this kind of host: crun refuses cgroups in hybrid mode,
 * runc does not.
 */
export const PODMAN = ['--runtime', 'runc'];
/** podman's default ulimits exceed the hard limits of a container host like CI's. */
export const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
const MIRROR = 'http://deb.debian.org/debian';
/** The host's CA bundle: npm inside a build may reach the registry through a TLS proxy only the host trusts. */
const HOST_CA = '/etc/ssl/certs/ca-certificates.crt';
const STAND_IN_LABEL = 'org.puppetdb-sync.stand-in';

export type BaseImage = { name: string; debian: string } & ({ kind: 'debian' } | { kind: 'node'; nodeMajor: string });

/** The official images a Dockerfile's FROM lines name, fully qualified, as podman stores them. */
export function baseImages(dockerfile = join(ROOT, 'Dockerfile')): BaseImage[] {
  const names = [...readFileSync(dockerfile, 'utf8').matchAll(/^FROM (\S+)/gm)].map((match) => match[1]!);
  return names.map((name) => {
    const debian = /^debian:(\w+)-slim$/.exec(name);
    if (debian) return { kind: 'debian', name: `docker.io/library/${name}`, debian: debian[1]! };
    const node = /^node:(\d+)-(\w+)-slim$/.exec(name);
    if (node) return { kind: 'node', name: `docker.io/library/${name}`, nodeMajor: node[1]!, debian: node[2]! };
    throw new Error(`no stand-in for the base image ${name}: only debian:RELEASE-slim and node:MAJOR-RELEASE-slim`);
  });
}

function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const result = spawnSync(cmd, args, { ...opts, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${result.status}: ${`${result.stderr}${result.stdout}`.slice(-4000)}`);
  return result.stdout;
}

export const podman = (args: string[], opts: { cwd?: string } = {}): string => sh('podman', [...PODMAN, ...args], opts);

const imageExists = (name: string): boolean => spawnSync('podman', ['image', 'exists', name]).status === 0;

/** Debian's minimal system, trimmed of documentation as the official slim images are. */
function makeDebian(image: BaseImage, scratch: string): void {
  const tarball = join(scratch, 'debian.tar');
  sh('mmdebstrap', [
    '--variant=minbase', '--quiet',
    ...['/usr/share/doc/*', '/usr/share/man/*', '/usr/share/info/*', '/usr/share/locale/*'].map((path) => `--dpkgopt=path-exclude=${path}`),
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    image.debian, tarball, MIRROR,
  ]);
  podman(['import', '--change', 'CMD ["bash"]', '--change', `LABEL ${STAND_IN_LABEL}=mmdebstrap`, tarball, image.name]);
}

/** The Debian stand-in with Node.js's latest MAJOR release and npm in /usr/local, as the official images lay them out. */
function makeNode(image: BaseImage & { kind: 'node' }, scratch: string): void {
  const debian = `docker.io/library/debian:${image.debian}-slim`;
  if (!imageExists(debian)) makeDebian({ kind: 'debian', name: debian, debian: image.debian }, scratch);
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  const npmVersion = sh('npm', ['--version']).trim();
  for (const spec of [`node-linux-${arch}@${image.nodeMajor}`, `npm@${npmVersion}`]) {
    const tgz = sh('npm', ['pack', '--silent', spec], { cwd: scratch }).trim().split('\n').pop()!;
    const dir = join(scratch, spec.startsWith('npm@') ? 'npm' : 'node');
    mkdirSync(dir);
    sh('tar', ['-xzf', join(scratch, tgz), '-C', dir, '--strip-components=1']);
  }
  copyFileSync(HOST_CA, join(scratch, 'host-ca.crt'));
  writeFileSync(join(scratch, 'Containerfile'), `FROM ${debian}
COPY node/bin/node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
COPY host-ca.crt /usr/local/share/host-ca.crt
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/host-ca.crt npm_config_cafile=/usr/local/share/host-ca.crt
LABEL ${STAND_IN_LABEL}=npm-registry
CMD ["node"]
`);
  podman(['build', '--pull=never', '--format', 'docker', ...ULIMITS, '-t', image.name, scratch]);
}

/** Makes every base image of the Dockerfile that podman does not hold yet; returns the names it made. */
export function ensureBaseImages(dockerfile = join(ROOT, 'Dockerfile')): string[] {
  const made: string[] = [];
  for (const image of baseImages(dockerfile)) {
    if (imageExists(image.name)) continue;
    const scratch = mkdtempSync(join(tmpdir(), 'pdbsync-base-'));
    try {
      if (image.kind === 'debian') makeDebian(image, scratch);
      else makeNode(image, scratch);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    made.push(image.name);
  }
  return made;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = Date.now();
  const made = ensureBaseImages();
  console.log(made.length ? `made ${made.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s` : 'every base image is present');
}
