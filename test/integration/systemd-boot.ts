// Boots systemd on this host's own file system, in systemd-nspawn with a throw-away
// overlay, to run the installed puppetdb-sync.service under a real service manager
// (its hardening included), where the host or the CI container runs none.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether systemd-nspawn can boot here: root with the right to make namespaces. */
export function canBootSystemd(): boolean {
  return process.getuid?.() === 0 && spawnSync('unshare', ['--mount', '--pid', '--fork', 'true']).status === 0;
}

// Runs in the container as the unit systemd boots to: starts the service, samples
// it, reloads it, stops it, keeps the journal, powers off.
const PROBE = `#!/bin/sh
out=/probe-out
show() { systemctl show puppetdb-sync.service -p "$1" --value; }
systemctl start puppetdb-sync.service
sleep 6
show ActiveState > $out/active; show NRestarts > $out/restarts; show MainPID > $out/pid
ps -o user=,args= -p "$(show MainPID)" > $out/ps
curl -s -o $out/status.json -w '%{http_code}' "http://127.0.0.1:$(cat /probe-port)/status" > $out/status-code
systemctl reload puppetdb-sync.service; echo $? > $out/reload
sleep 2
show MainPID > $out/pid-after-reload
systemctl stop puppetdb-sync.service; echo $? > $out/stop
show Result > $out/result
journalctl -u puppetdb-sync.service --no-pager -o cat > $out/journal
systemctl poweroff
`;

const PROBE_UNIT = `[Unit]
Description=probe of puppetdb-sync.service
[Service]
Type=oneshot
ExecStart=/probe.sh
`;

export type ProbeResult = Record<'active' | 'restarts' | 'pid' | 'ps' | 'status.json' | 'status-code' | 'reload' | 'pid-after-reload' | 'stop' | 'result' | 'journal', string>;

/** Boots, runs the probe against the installed unit with `config` as its configuration, returns what it saw. */
export function probeUnit(config: string, apiPort: number): ProbeResult {
  const names = ['active', 'restarts', 'pid', 'ps', 'status.json', 'status-code', 'reload', 'pid-after-reload', 'stop', 'result', 'journal'] as const;
  return bootAndRun(PROBE, { '/probe-port': String(apiPort), '/etc/puppetdb-sync/puppetdb-sync.conf': config }, [], names) as ProbeResult;
}

/**
 * Boots systemd with `script` as the unit it boots to, `files` (path in the container
 * -> content) and `binds` (HOST:CONTAINER) read-only; the script writes into
 * /probe-out, ends with `systemctl poweroff`, and its last file is `outputs`' last.
 * Returns the trimmed text of each of `outputs`, empty for one not written.
 */
export function bootAndRun(script: string, files: Record<string, string>, binds: string[], outputs: readonly string[]): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'pdbsync-nspawn-'));
  const rootfs = join(dir, 'rootfs');
  const out = join(dir, 'out');
  mkdirSync(rootfs);
  mkdirSync(out);
  const placed = { '/probe.sh': script, '/etc/systemd/system/pdbsync-probe.service': PROBE_UNIT, ...files };
  const fileBinds = Object.entries(placed).map(([path, content], index) => {
    writeFileSync(join(dir, `file-${index}`), content);
    return `${join(dir, `file-${index}`)}:${path}`;
  });
  chmodSync(join(dir, 'file-0'), 0o755);
  // nspawn refuses / itself; the same tree through a bind mount it takes.
  const mount = spawnSync('mount', ['--bind', '/', rootfs], { encoding: 'utf8' });
  if (mount.status !== 0) throw new Error(`mount --bind / failed: ${mount.stderr}`);
  try {
    const boot = spawnSync('systemd-nspawn', [
      '--directory', rootfs, '--volatile=overlay', '--register=no', '--keep-unit', '--link-journal=no', '--quiet',
      `--bind=${out}:/probe-out`,
      ...[...fileBinds, ...binds].map((bind) => `--bind-ro=${bind}`),
      '--boot', 'systemd.unit=pdbsync-probe.service',
    ], { encoding: 'utf8', timeout: 300_000 });
    if (!existsSync(join(out, outputs.at(-1)!))) throw new Error(`the probe did not finish (nspawn exit ${boot.status}): ${boot.stderr}${boot.stdout}`.slice(-4000));
    // A file the probe could not write reads empty: the others then tell why.
    return Object.fromEntries(outputs.map((name) => [name, existsSync(join(out, name)) ? readFileSync(join(out, name), 'utf8').trim() : '']));
  } finally {
    // Never a recursive removal near rootfs: while mounted it is the host's root.
    const unmount = spawnSync('umount', [rootfs], { encoding: 'utf8' });
    if (unmount.status !== 0) throw new Error(`umount ${rootfs} failed, left in place: ${unmount.stderr}`);
    rmdirSync(rootfs);
    rmSync(out, { recursive: true, force: true });
    for (const index of Object.keys(placed).keys()) rmSync(join(dir, `file-${index}`));
    rmdirSync(dir);
  }
}
