// Where each PuppetDB version of the test cluster comes from and how it is started:
// 7.12.1 is the host's own Debian 12 package; 8.4.1 (Debian 13's) and 8.8.1 (sid's, the
// base of OpenVoxDB) run from chroots made once with mmdebstrap and reused
// (../shared/reference/real-servers.md has the recipe). A chroot server's files live
// inside its chroot, owned by the chroot's puppetdb user; the host reaches them there.
import { existsSync, readFileSync } from 'node:fs';
import { chown, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { isRoot, run } from './os.ts';

export const PDB_VERSIONS = ['7.12.1', '8.4.1', '8.8.1'] as const;
export type PdbVersion = (typeof PDB_VERSIONS)[number];

/**
 * The version most of the integration suite runs on: 8.8.1, the last open-source
 * PuppetDB and the base of OpenVoxDB, is the closest to what users run or move to.
 */
export const DEFAULT_PDB_VERSION: PdbVersion = '8.8.1';

export function isPdbVersion(text: string): text is PdbVersion {
  return (PDB_VERSIONS as readonly string[]).includes(text);
}

const HOST_JAR = '/usr/share/puppetdb/puppetdb.jar';

/** Where the chroots are kept between runs (PDBSYNC_CHROOTS overrides it). */
export function chrootsDir(): string {
  return process.env.PDBSYNC_CHROOTS ?? '/var/cache/puppetdb-sync-test/chroots';
}

/** A version's installation: the root it runs in ('/' for the host) and the puppetdb user there. */
export interface PdbRuntime {
  readonly version: PdbVersion;
  /** '/' for the host's package, else the chroot. */
  readonly root: string;
  readonly uid: number;
  readonly gid: number;
  /** The path `hostPath` (below root) has as the server sees it. */
  inside(hostPath: string): string;
  /** The command that runs PuppetDB with the config folder `confDir` (a host path below root), from `dir`. */
  command(dir: string, confDir: string, heap: string): [string, string[]];
}

function userIn(root: string, name: string): { uid: number; gid: number } {
  const entry = readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[0] === name);
  if (!entry) throw new Error(`no user ${name} in ${root}`);
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

const javaArgs = (heap: string, confDir: string) => [
  `-Xmx${heap}`, '-cp', '/usr/share/puppetdb/puppetdb.jar', 'clojure.main', '-m', 'puppetlabs.puppetdb.core', 'services',
  '--config', confDir, '--bootstrap-config', '/etc/puppetdb/bootstrap.cfg',
];

function hostRuntime(): PdbRuntime {
  const { uid, gid } = userIn('/', 'puppetdb');
  return {
    version: '7.12.1',
    root: '/',
    uid,
    gid,
    inside: (hostPath) => hostPath,
    // setpriv execs java, so the child's pid is PuppetDB's.
    command: (_dir, confDir, heap) =>
      isRoot ? ['setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', '--', 'java', ...javaArgs(heap, confDir)]] : ['java', javaArgs(heap, confDir)],
  };
}

function chrootRuntime(version: PdbVersion, root: string): PdbRuntime {
  const { uid, gid } = userIn(root, 'puppetdb');
  const inside = (hostPath: string) => `/${relative(root, hostPath)}`;
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  return {
    version,
    root,
    uid,
    gid,
    inside,
    // Java needs /proc; a private mount namespace keeps that mount from outliving the
    // JVM. unshare, sh, chroot and env all exec, so the child's pid is PuppetDB's.
    command: (dir, confDir, heap) => {
      const java = ['cd', quote(inside(dir)), '&&', 'exec', '/usr/bin/java', ...javaArgs(heap, inside(confDir)).map(quote)].join(' ');
      const script = `mount -t proc proc ${quote(join(root, 'proc'))} && exec chroot --userspec=${uid}:${gid} ${quote(root)} env HOME=${quote(inside(dir))} sh -c ${quote(java)}`;
      return ['unshare', ['-m', '--propagation', 'private', 'sh', '-c', script]];
    },
  };
}

async function aptInstall(packages: string[], log: (l: string) => void): Promise<void> {
  if (!isRoot) throw new Error(`${packages.join(', ')} missing, and installing needs root`);
  log(`installing ${packages.join(' ')} with apt-get`);
  await run('apt-get', ['update']);
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/** Debian's releases each version comes from; sid's 8.8.1 installs only on a trixie base. */
function mmdebstrapArgs(version: Exclude<PdbVersion, '7.12.1'>, target: string): string[] {
  const common = ['--variant=apt', '--aptopt=Acquire::Check-Valid-Until "false"'];
  if (version === '8.4.1') return [...common, '--include=puppetdb,ca-certificates', 'trixie', target, 'http://deb.debian.org/debian'];
  const pin = 'mkdir -p "$1/etc/apt/preferences.d"; printf "Package: *\\nPin: release n=trixie\\nPin-Priority: 990\\n" > "$1/etc/apt/preferences.d/trixie"';
  return [
    ...common, `--setup-hook=${pin}`, '--include=puppetdb/sid,ca-certificates', 'trixie', target,
    'deb http://deb.debian.org/debian trixie main', 'deb http://deb.debian.org/debian sid main',
  ];
}

function installedVersion(root: string): string | undefined {
  try {
    const status = readFileSync(join(root, 'var/lib/dpkg/status'), 'utf8');
    return /Package: puppetdb\nStatus: install ok installed\n(?:.+\n)*?Version: ([^-\n]+)/.exec(status)?.[1];
  } catch {
    return undefined;
  }
}

/** A chroot for `version`, built once (about a minute and 490 MB) and kept under chrootsDir(). */
async function ensureChroot(version: Exclude<PdbVersion, '7.12.1'>, log: (l: string) => void): Promise<string> {
  const root = join(chrootsDir(), `pdb-${version}`);
  if (installedVersion(root) === version) return root;
  if (!existsSync('/usr/bin/mmdebstrap')) await aptInstall(['mmdebstrap'], log);
  const building = `${root}.tmp-${process.pid}`;
  log(`building a Debian chroot with PuppetDB ${version} in ${root} (about a minute)`);
  await rm(building, { recursive: true, force: true });
  await run('mmdebstrap', mmdebstrapArgs(version, building));
  const got = installedVersion(building);
  if (got !== version) throw new Error(`the chroot for PuppetDB ${version} holds puppetdb ${got ?? 'nothing'}`);
  // Another process may have built it meanwhile: keep the first.
  if (installedVersion(root) === version) await rm(building, { recursive: true, force: true });
  else {
    await rm(root, { recursive: true, force: true });
    await rename(building, root);
  }
  return root;
}

/** Each of `versions` ready to start, installing or building what is missing. */
export async function prepareRuntimes(versions: readonly PdbVersion[], log: (l: string) => void): Promise<Map<PdbVersion, PdbRuntime>> {
  const runtimes = new Map<PdbVersion, PdbRuntime>();
  for (const version of new Set(versions)) {
    if (version === '7.12.1') {
      if (!existsSync(HOST_JAR)) await aptInstall(['puppetdb'], log);
      runtimes.set(version, hostRuntime());
    } else {
      runtimes.set(version, chrootRuntime(version, await ensureChroot(version, log)));
    }
  }
  return runtimes;
}

/** Gives a folder tree to the server's user, as the package would. */
export async function chownTree(path: string, runtime: PdbRuntime): Promise<void> {
  if (!isRoot) return;
  await chown(path, runtime.uid, runtime.gid);
  if (!(await stat(path)).isDirectory()) return;
  for (const entry of await readdir(path)) await chownTree(join(path, entry), runtime);
}
