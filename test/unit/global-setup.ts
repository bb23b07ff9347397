// The unit project's real tools: promtool (Prometheus' own checker of the metrics,
// rules and dashboard queries) is installed with apt-get when missing, as the
// integration project installs PostgreSQL and PuppetDB.
import { spawnSync } from 'node:child_process';

export default function setup(): void {
  if (spawnSync('promtool', ['--version']).error === undefined) return;
  if (process.getuid?.() !== 0) throw new Error('promtool is missing and installing it needs root: apt-get install prometheus');
  console.log('[unit] installing promtool (Debian package prometheus) with apt-get');
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'prometheus']]) {
    const run = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (run.status !== 0) throw new Error(`apt-get ${args.join(' ')} exited ${run.status}`);
  }
}
