// The Debian package as an operator gets it: `npm run package`'s build, installed
// with dpkg, run from PATH, its unit checked by systemd-analyze, linted by lintian,
// then removed and purged. Needs root and Debian (apt-get brings the tools when
// missing); it uses no PuppetDB server, and installs onto this host.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shebangFlags } from '../../scripts/bench-cli.ts';
import { freePort } from '../../scripts/os.ts';
import { packageForTests } from './deb.ts';
import { canBootSystemd, probeUnit } from './systemd-boot.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const UNIT = '/lib/systemd/system/puppetdb-sync.service';
const CONFIG = '/etc/puppetdb-sync/puppetdb-sync.conf';
const SPOOL_UNIT = '/lib/systemd/system/puppetdb-sync-spool.service';
const SPOOL_CONFIG = '/etc/puppetdb-sync/spool.conf';
// The system's PATH alone: no Node.js of the project's can stand in for the package's.
const SYSTEM_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = SYSTEM_ENV): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 64 * 1024 * 1024 });
}

function ok(cmd: string, args: string[]): string {
  const result = sh(cmd, args);
  expect(result.status, `${cmd} ${args.join(' ')}: ${result.stderr}${result.stdout}`).toBe(0);
  return result.stdout;
}

/** apt-get install of the tools the test and the package script use, when missing. */
function ensureTools(): void {
  const missing = [['lintian', 'lintian'], ['systemd-analyze', 'systemd'], ['systemd-nspawn', 'systemd-container'], ['strip', 'binutils'], ['curl', 'curl']]
    .filter(([command]) => sh('sh', ['-c', `command -v ${command}`]).status !== 0)
    .map(([, pkg]) => pkg!);
  if (missing.length === 0) return;
  ok('apt-get', ['update']);
  ok('apt-get', ['install', '-y', '--no-install-recommends', ...missing]);
}

/** ExecStart= of the installed unit, split as systemd splits it (no quoting is used). */
function execStart(): string[] {
  return /^ExecStart=(.*)$/m.exec(readFileSync(UNIT, 'utf8'))![1]!.split(' ');
}

describe('the Debian package', () => {
  let deb = '';

  beforeAll(async () => {
    ensureTools();
    // Shared with puppet-apply.test.ts: built once per content of the tree.
    deb = await packageForTests();
  });
  afterAll(() => {
    sh('dpkg', ['--purge', 'puppetdb-sync']);
  });

  it('installs with dpkg -i; puppetdb-sync runs from PATH on the packaged Node.js 24', () => {
    ok('dpkg', ['-i', deb]);
    expect(ok('puppetdb-sync', ['--version'])).toBe(`${VERSION}\n`);
    const noConfig = sh('puppetdb-sync', ['once', '--config', '/nonexistent']);
    expect(noConfig.status).toBe(2);
    expect(noConfig.stderr).toContain('PDBSYNC_ERR_CONFIG_READ');
    expect(ok('/opt/puppetdb-sync/bin/node', ['--version'])).toMatch(/^v24\./);
    expect(readFileSync('/usr/bin/puppetdb-sync', 'utf8')).toContain(
      `exec /opt/puppetdb-sync/bin/node ${shebangFlags(join(ROOT, 'src/cli.ts')).join(' ')} /opt/puppetdb-sync/dist/cli.js "$@"`,
    );
    // Every file as the package lists it: dpkg --verify prints each one that differs.
    expect(ok('dpkg', ['--verify', 'puppetdb-sync'])).toBe('');
    expect(ok('dpkg-query', ['-W', '-f', '${Conffiles}', 'puppetdb-sync'])).toContain(CONFIG);
    expect(ok('dpkg-query', ['-W', '-f', '${Conffiles}', 'puppetdb-sync'])).toContain(SPOOL_CONFIG);
  });

  it('the unit passes systemd-analyze verify and runs as puppetdb, which can read the default configuration', () => {
    const verify = sh('systemd-analyze', ['verify', UNIT]);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stderr).not.toContain('puppetdb-sync');
    const security = sh('systemd-analyze', ['security', '--offline=true', UNIT]);
    const exposure = Number(/Overall exposure level for puppetdb-sync\.service: ([\d.]+)/.exec(security.stdout)?.[1]);
    expect(exposure, security.stdout).toBeLessThanOrEqual(2);

    expect(ok('getent', ['passwd', 'puppetdb'])).toMatch(/^puppetdb:/);
    // The unit's own command, as its user; --version stops it before it syncs.
    const [command, ...args] = execStart();
    const asService = sh('setpriv', ['--reuid=puppetdb', '--regid=puppetdb', '--init-groups', '--', command!, ...args, '--version']);
    expect(asService.stdout, asService.stderr).toBe(`${VERSION}\n`);
    const loads = sh('setpriv', [
      '--reuid=puppetdb', '--regid=puppetdb', '--init-groups', '--', '/opt/puppetdb-sync/bin/node', '--input-type=module', '-e',
      `const { loadConfig } = await import('/opt/puppetdb-sync/dist/config/load.js'); console.log((await loadConfig('${CONFIG}')).http.host);`,
    ]);
    expect(loads.stdout, loads.stderr).toBe('127.0.0.1\n');
  });

  it('the spool\'s unit passes systemd-analyze verify, as hardened as the sidecar\'s, installed disabled', () => {
    // Its user is Puppet Server's, which this host may lack: verify it as the sidecar's user.
    const dir = mkdtempSync(join(tmpdir(), 'pdbsync-spool-unit-'));
    const unit = join(dir, 'puppetdb-sync-spool.service');
    writeFileSync(unit, readFileSync(SPOOL_UNIT, 'utf8').replace(/^(User|Group)=puppet$/gm, '$1=puppetdb'));
    const verify = sh('systemd-analyze', ['verify', unit]);
    expect(verify.status, verify.stderr).toBe(0);
    expect(verify.stderr).not.toContain('puppetdb-sync-spool');
    const security = sh('systemd-analyze', ['security', '--offline=true', unit]);
    const exposure = Number(/Overall exposure level for puppetdb-sync-spool\.service: ([\d.]+)/.exec(security.stdout)?.[1]);
    expect(exposure, security.stdout).toBeLessThanOrEqual(2);
    rmSync(dir, { recursive: true, force: true });
    expect(sh('systemctl', ['is-enabled', 'puppetdb-sync-spool.service']).stdout.trim()).not.toBe('enabled');
    const loads = sh('/opt/puppetdb-sync/bin/node', ['--input-type=module', '-e', `const { loadSpoolConfig } = await import('/opt/puppetdb-sync/dist/config/load-spool.js'); console.log((await loadSpoolConfig('${SPOOL_CONFIG}')).http.port);`]);
    expect(loads.stdout, loads.stderr).toBe('8097\n');
  });

  // Booting systemd needs the right to make namespaces, which a CI container may lack.
  it.skipIf(!canBootSystemd())('under systemd (booted in systemd-nspawn) the hardened unit runs as puppetdb, serves its API, reloads on SIGHUP and stops cleanly', async () => {
    const port = await freePort();
    // Servers that refuse connections: the passes fail, the service keeps running.
    const seen = probeUnit(
      `local: { server_url: "http://127.0.0.1:1" }\nsync: { remotes: [ { server_url: "http://127.0.0.1:2", interval: 2s } ] }\nhttp: { port: ${port} }\n`,
      port,
    );
    expect(seen.active, seen.journal).toBe('active');
    expect(seen.restarts).toBe('0');
    expect(seen.ps).toBe(`puppetdb ${execStart().join(' ')}`);
    expect(seen['status-code']).toBe('200');
    expect((JSON.parse(seen['status.json']) as { remotes: { remote: string }[] }).remotes.map((r) => r.remote)).toEqual(['http://127.0.0.1:2']);
    expect(seen.reload).toBe('0');
    expect(seen['pid-after-reload']).toBe(seen.pid);
    expect(seen.journal).toContain('"message":"configuration reloaded"');
    expect(seen.stop).toBe('0');
    expect(seen.result).toBe('success');
  });

  it('lintian finds no error and no warning beyond the documented overrides, and every override is used', () => {
    const lint = sh('lintian', ['--display-info', '--pedantic', deb]);
    const tags = lint.stdout.split('\n').filter((line) => /^[EWIP]: /.test(line));
    expect(tags.filter((line) => /^[EW]: /.test(line))).toEqual([]);
    expect(tags.filter((line) => /(unused|mismatched)-override/.test(line))).toEqual([]);
    expect(lint.status, lint.stderr).toBe(0);
  });

  it('remove keeps the configuration, purge takes it too; the user stays', () => {
    ok('dpkg', ['--remove', 'puppetdb-sync']);
    for (const path of ['/opt/puppetdb-sync', '/usr/bin/puppetdb-sync', UNIT]) expect(existsSync(path), path).toBe(false);
    expect(statSync(CONFIG).isFile()).toBe(true);
    ok('dpkg', ['--purge', 'puppetdb-sync']);
    expect(existsSync('/etc/puppetdb-sync')).toBe(false);
    expect(sh('dpkg-query', ['-W', 'puppetdb-sync']).status).not.toBe(0);
    // PuppetDB's user may own PuppetDB's files: never removed.
    expect(ok('getent', ['passwd', 'puppetdb'])).toMatch(/^puppetdb:/);
  });
});
