// The Puppet module (puppet/) applied for real: `puppet apply` (Debian's puppet 7.23)
// on this host's own tree booted with systemd in systemd-nspawn (systemd-boot.ts),
// installing the package the suite builds (deb.ts), beside a real PuppetDB whose
// conf.d the module points the sidecar at. Nothing of it stays on the host: the
// container writes into a throw-away overlay.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../scripts/os.ts';
import { packageForTests } from './deb.ts';
import { ensurePuppet } from './puppet-agent.ts';
import { bootAndRun, canBootSystemd } from './systemd-boot.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const [local, remote] = inject('pdbServers') as [string, string];
/** A remote added by the third run: one that refuses connections, only the list matters. */
const ADDED_REMOTE = 'http://127.0.0.1:9';

// Each run's exit status with --detailed-exitcodes: 0 nothing changed, 2 changes, else failed.
const PROBE = `#!/bin/sh
out=/probe-out
apply() { puppet apply --detailed-exitcodes --modulepath /probe-modules "/probe-$1.pp" > "$out/apply-$1.log" 2>&1; echo $? > "$out/apply-$1"; }
show() { systemctl show puppetdb-sync.service -p "$1" --value; }
api() { curl -s -o "$2" -w '%{http_code}' "http://127.0.0.1:$(cat /probe-port)/$1"; }
apply first
# /health answers 200 once a pass of every remote succeeded.
for i in $(seq 90); do [ "$(api health /dev/null)" = 200 ] && break; sleep 1; done
api health /dev/null > $out/health; show ActiveState > $out/active; show MainPID > $out/pid
apply again
apply changed
sleep 3
show MainPID > $out/pid-after-change; show NRestarts > $out/restarts
api status $out/status.json > /dev/null
cp "$(puppet config print confdir)/puppetdb.conf" $out/puppetdb.conf
journalctl -u puppetdb-sync.service --no-pager -o cat > $out/journal
systemctl poweroff
`;
const OUTPUTS = ['apply-first', 'apply-first.log', 'health', 'active', 'pid', 'apply-again', 'apply-again.log', 'apply-changed', 'apply-changed.log',
  'pid-after-change', 'restarts', 'status.json', 'puppetdb.conf', 'journal'] as const;

/** systemd-nspawn and curl (the probe's), installed when missing as package.test.ts does. */
function ensureTools(): void {
  const missing = [['systemd-nspawn', 'systemd-container'], ['curl', 'curl']]
    .filter(([command]) => spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0)
    .map(([, pkg]) => pkg!);
  if (missing.length === 0) return;
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (install.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} exited ${install.status}`);
}

function manifest(remotes: string[], port: number): string {
  return `class { 'puppetdb_sync':
  remotes           => ${JSON.stringify(remotes)},
  interval          => '2s',
  puppetdb_conf_dir => '/probe-conf.d',
  package_source    => '/probe.deb',
  http_port         => ${port},
}
class { 'puppetdb_sync::puppet_server':
  server_urls => ${JSON.stringify([local, remote])},
}
`;
}

describe.skipIf(!canBootSystemd())('the Puppet module, applied with puppet apply under systemd', () => {
  const confDir = mkdtempSync(join(tmpdir(), 'pdbsync-conf.d-'));
  let seen: Record<(typeof OUTPUTS)[number], string>;

  beforeAll(async () => {
    ensureTools();
    ensurePuppet();
    const [deb, port] = await Promise.all([packageForTests(), freePort()]);
    // PuppetDB's conf.d as its package lays it out: the module takes the local server from it.
    const { hostname, port: pdbPort } = new URL(local);
    writeFileSync(join(confDir, 'jetty.ini'), `[jetty]\nhost = ${hostname}\nport = ${pdbPort}\n`);
    chmodSync(confDir, 0o755);
    const started = Date.now();
    seen = bootAndRun(PROBE, {
      '/probe-port': String(port),
      '/probe-first.pp': manifest([remote], port),
      '/probe-again.pp': manifest([remote], port),
      '/probe-changed.pp': manifest([remote, ADDED_REMOTE], port),
    }, [`${deb}:/probe.deb`, `${confDir}:/probe-conf.d`, `${join(ROOT, 'puppet')}:/probe-modules/puppetdb_sync`], OUTPUTS) as typeof seen;
    console.log(`[puppet-apply] booted, applied three times and powered off in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
  afterAll(() => rmSync(confDir, { recursive: true, force: true }));

  it('the first run installs, configures and starts the sidecar, which syncs and answers /health', () => {
    expect(seen['apply-first'], seen['apply-first.log']).toBe('2');
    expect(seen.active, seen.journal).toBe('active');
    expect(seen.health, seen.journal).toBe('200');
    expect(seen.journal).toContain(`"local":"${local}"`);
    expect(seen['puppetdb.conf']).toContain(`server_urls = ${local},${remote}\ncommand_broadcast = true\n`);
  });

  it('a second run with the same parameters changes nothing', () => {
    expect(seen['apply-again'], seen['apply-again.log']).toBe('0');
  });

  it('a changed remote list rewrites the configuration and reloads the service, without restarting it', () => {
    expect(seen['apply-changed'], seen['apply-changed.log']).toBe('2');
    expect(seen['apply-changed.log']).toContain("Service[puppetdb-sync]: Triggered 'refresh'");
    expect(seen['pid-after-change']).toBe(seen.pid);
    expect(seen.restarts).toBe('0');
    expect(seen.journal).toContain('"message":"configuration reloaded"');
    const status = JSON.parse(seen['status.json']) as { remotes: { remote: string }[] };
    expect(status.remotes.map((r) => r.remote).sort()).toEqual([remote, ADDED_REMOTE].sort());
  });
});
