import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { promtool } from '../unit/service/promtool.ts';
import { eventually, freePort, startCli, writeConfig, type Sidecar } from './pdb.ts';

const [serverA, serverB] = inject('pdbServers') as [string, string];

/** A `run` sidecar with its HTTP API on a free port; its base URL. */
async function sidecar(local: string, remote: string, sidecars: Sidecar[]): Promise<string> {
  const port = await freePort();
  sidecars.push(startCli(['run', '--config', writeConfig(local, [remote], '', { interval: '2s', outside: `http: { port: ${port} }` })]));
  return `http://127.0.0.1:${port}`;
}

const metricsOf = (api: string) => fetch(`${api}/metrics`).then((response) => response.text(), () => '');

describe('run: /metrics of a sidecar on real PuppetDBs', () => {
  const sidecars: Sidecar[] = [];
  let api: string;
  let orphan: string;

  beforeAll(async () => {
    api = await sidecar(serverB, serverA, sidecars);
    // A local server that refuses every connection: a port nothing listens on.
    orphan = await sidecar(`http://127.0.0.1:${await freePort()}`, serverA, sidecars);
  });

  afterAll(async () => {
    for (const running of sidecars) running.signal('SIGTERM');
    await Promise.all(sidecars.map((running) => running.exited));
  });

  it('passes promtool check metrics after a pass, with the local server up and its queue depth', async () => {
    let text = '';
    await eventually(async () => {
      text = await metricsOf(api);
      return new RegExp(`^pdbsync_last_sync_succeeded\\{remote="${serverA}"\\} 1$`, 'm').test(text) && /^pdbsync_local_up 1$/m.test(text);
    }, 120_000, 'a successful pass and a probe of the local server');
    expect(text).toMatch(/^pdbsync_local_queue_depth \d+$/m);
    expect(text).toMatch(/^pdbsync_build_info\{version="\d+\.\d+\.\d+[^"]*",nodejs_version="v24\.[\d.]+"\} 1$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
    expect(text).toMatch(/^pdbsync_last_successful_sync_timestamp_seconds\{remote="[^"]+"\} \d+/m);
    const result = promtool(['check', 'metrics'], { input: text });
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('shows a local server that does not answer as down, with no queue depth', async () => {
    let text = '';
    await eventually(async () => {
      text = await metricsOf(orphan);
      return /^pdbsync_local_up 0$/m.test(text);
    }, 60_000, 'a failed probe of the local server');
    expect(text).not.toMatch(/^pdbsync_local_queue_depth /m);
    expect(promtool(['check', 'metrics'], { input: text }).status).toBe(0);
  });
});
