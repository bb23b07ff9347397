// The container image as an operator builds and runs it (docs/deploying.md): the
// Dockerfile built unchanged with podman, from stand-ins for its official base images
// (scripts/container-bases.ts, cached in podman's storage), then run against two real
// PuppetDBs with the configuration mounted read-only. Needs root (apt-get brings
// podman, runc and mmdebstrap when missing) and the Debian mirror and npm registry
// for the first build.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { baseImages, ensureBaseImages, podman, PODMAN, ULIMITS } from '../../scripts/container-bases.ts';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { factset, uniquePrefix } from './convergence.ts';
import { eventually, query, submit } from './pdb.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const IMAGE = 'localhost/puppetdb-sync:test';
/** The build stage, tagged so the next build can drop this one's layers (dropImages). */
const BUILD_IMAGE = 'localhost/puppetdb-sync-build:test';
const CONTAINER = 'pdbsync-image-test';
/** The image's health check asks this port; with --network host it is the host's. */
const API_PORT = 8095;
/** Layers the Dockerfile adds to debian:bookworm-slim: 118 MB when written (the packaged Node.js is most of it). */
const MAX_ADDED_BYTES = 140e6;

const [local, remote] = inject('pdbServers') as [string, string];
const certname = `${uniquePrefix('image')}-on-remote`;

function ensureTools(): void {
  const missing = [['podman', 'podman'], ['runc', 'runc'], ['mmdebstrap', 'mmdebstrap']]
    .filter(([command]) => spawnSync('sh', ['-c', `command -v ${command}`]).status !== 0)
    .map(([, pkg]) => pkg!);
  if (missing.length === 0) return;
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (install.status !== 0) throw new Error(`apt-get install ${missing.join(' ')} exited ${install.status}`);
}

const imageId = (name: string): string | undefined => spawnSync('podman', ['image', 'inspect', '--format', '{{.Id}}', name], { encoding: 'utf8' }).stdout.trim() || undefined;

/** Removes images a newer build untagged: podman drops their layers up to the first one the newer build shares (the npm packages'). */
function dropImages(ids: (string | undefined)[]): void {
  const current = new Set([imageId(IMAGE), imageId(BUILD_IMAGE)]);
  for (const id of ids) if (id && !current.has(id)) podman(['rmi', id]);
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer().once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

describe('the container image, built with podman and run against two real PuppetDBs', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'pdbsync-image-'));
  const config = join(scratch, 'puppetdb-sync.conf');

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('the image test needs root: podman, as this host runs it, is rootful');
    ensureTools();
    let started = Date.now();
    const made = ensureBaseImages();
    if (made.length > 0) console.log(`[image] stand-in base images ${made.join(', ')} made in ${seconds(started)}`);

    started = Date.now();
    const previous = [imageId(IMAGE), imageId(BUILD_IMAGE)];
    // --format docker keeps HEALTHCHECK, which the OCI format has no field for;
    // --network host reaches the Debian mirror and the npm registry as the host does.
    const build = ['build', '--pull=never', '--format', 'docker', '--network', 'host', ...ULIMITS];
    podman([...build, '--target', 'build', '-t', BUILD_IMAGE, ROOT]);
    podman([...build, '-t', IMAGE, ROOT]);
    dropImages(previous);
    console.log(`[image] built in ${seconds(started)}`);

    await submit(remote, 'replace_facts', 5, factset(certname, Date.now() - 60_000, 'image'));
    await waitForQueueDrained(remote);
    if (!(await portIsFree(API_PORT))) throw new Error(`port ${API_PORT} is in use on this host: the image's health check asks it, and the container shares the host's network`);
    writeFileSync(config, `local: { server_url: "${local}" }\nsync: { remotes: [ { server_url: "${remote}", interval: 2s } ] }\nhttp: { host: "0.0.0.0", port: ${API_PORT} }\n`);
    // As docs/deploying.md runs it; --network host is its way to PuppetDB on the host's loopback.
    podman(['run', '-d', '--name', CONTAINER, '--network', 'host', '--read-only', '--stop-timeout', '45', ...ULIMITS,
      '-v', `${config}:/etc/puppetdb-sync/puppetdb-sync.conf:ro`, IMAGE]);
  });

  afterAll(() => {
    spawnSync('podman', [...PODMAN, 'rm', '-f', CONTAINER]);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('runs as puppetdb, brings the remote\'s records to the local server, and its HEALTHCHECK passes', async () => {
    expect(podman(['exec', CONTAINER, 'id', '-un']).trim()).toBe('puppetdb');
    const hashOn = async (url: string) => (await query(url, ['from', 'factsets', ['extract', ['hash'], ['=', 'certname', certname]]]))[0]?.hash;
    const expected = await hashOn(remote);
    expect(expected).toBeDefined();
    await eventually(async () => (await hashOn(local)) === expected, 120_000, `the factset of ${certname} on ${local}`);
    await eventually(async () => (await fetch(`http://127.0.0.1:${API_PORT}/health`)).ok, 60_000, '/health answering 200');
    const check = spawnSync('podman', [...PODMAN, 'healthcheck', 'run', CONTAINER], { encoding: 'utf8' });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
    expect(podman(['inspect', '--format', '{{.State.Health.Status}}', CONTAINER]).trim()).toBe('healthy');
  });

  it('SIGTERM stops it with exit 0; its log is JSON lines on standard output, nothing on standard error', () => {
    podman(['stop', '--time', '45', CONTAINER]);
    expect(podman(['inspect', '--format', '{{.State.ExitCode}}', CONTAINER]).trim()).toBe('0');
    const logs = spawnSync('podman', ['logs', CONTAINER], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(logs.stderr).toBe('');
    const lines = logs.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { message?: string });
    expect(lines.map((line) => line.message)).toEqual(expect.arrayContaining(['HTTP API listening', 'sync start', 'stopped']));
  });

  it(`adds at most ${MAX_ADDED_BYTES / 1e6} MB to debian:bookworm-slim`, () => {
    const size = (name: string) => Number(podman(['image', 'inspect', '--format', '{{.Size}}', name]).trim());
    const base = baseImages().find((image) => image.kind === 'debian')!.name;
    const added = size(IMAGE) - size(base);
    console.log(`[image] ${(size(IMAGE) / 1e6).toFixed(0)} MB, ${(added / 1e6).toFixed(0)} MB of it the Dockerfile's layers`);
    expect(added).toBeLessThanOrEqual(MAX_ADDED_BYTES);
  });
});
