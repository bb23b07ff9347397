import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeServer, json, type FakeServer } from './fake-server.ts';
import { checkLogLine } from '../log-check.ts';
import { emptyLocal, factset, factsetsRemote } from './sync/fake-puppetdb.ts';

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pdbsync-cli-')), 'sync.conf');
  writeFileSync(file, text);
  return file;
}

describe('puppetdb-sync CLI', () => {
  it('--help describes every command and option', () => {
    const { code, stdout } = cli(['--help']);
    expect(code).toBe(0);
    for (const word of ['once', 'run', 'diff', 'seed', '--force', '--config', '--log-level', '--help', '--version', '--json', 'Exit status']) expect(stdout).toContain(word);
  });

  it.each([['once'], ['run'], ['diff'], ['seed']])('gives help on %s alone, as COMMAND --help and as help COMMAND', (command) => {
    const [flag, word] = [cli([command, '--help']), cli(['help', command])];
    expect(flag.code).toBe(0);
    expect(flag.stdout).toMatch(new RegExp(`^Usage: puppetdb-sync ${command} --config FILE`));
    expect(word.stdout).toBe(flag.stdout);
    expect(flag.stdout).toContain(command === 'diff' ? '--json' : 'Exit status');
  });

  it('--version prints the version of package.json', () => {
    const { code, stdout } = cli(['--version']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
  });

  it('exits 2 naming http.port when the port is taken', async () => {
    const taken = await fakeServer([json(200, [])]);
    try {
      const port = new URL(taken.url).port;
      const file = configFile(`sync: { remotes: [ { server_url: "http://127.0.0.1:9" } ] }\nhttp: { port: ${port} }\n`);
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'run', '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += chunk));
        child.on('close', (code) => resolve({ code, stderr }));
      });
      expect(result.code).toBe(2);
      expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(`PDBSYNC_ERR_CONFIG_HTTP_LISTEN: the HTTP API cannot listen where http.host and http.port say: http.host 127.0.0.1, http.port ${port}: is in use`);
    } finally {
      await taken.close();
    }
  });

  const invalid: Array<[string, string[], RegExp]> = [
    ['no command', [], /PDBSYNC_ERR_USAGE: .*no command/],
    ['an unknown command', ['twice', '--config', 'x'], /PDBSYNC_ERR_USAGE: .*unknown command "twice"/],
    ['once without --config', ['once'], /PDBSYNC_ERR_USAGE: .*--config FILE is required/],
    ['an unknown option', ['once', '--bogus'], /PDBSYNC_ERR_USAGE: .*unknown option --bogus \(see puppetdb-sync once --help\)/],
    ['an option without its value', ['run', '--config'], /PDBSYNC_ERR_USAGE: .*option -c, --config <value> needs a value \(see puppetdb-sync run --help\)/],
    ['a bad --log-level', ['once', '--config', 'x', '--log-level', 'loud'], /--log-level must be one of/],
    ['a missing file', ['once', '--config', '/nonexistent/sync.conf'], /PDBSYNC_ERR_CONFIG_READ: .*\/nonexistent\/sync.conf/],
    ['--force without seed', ['once', '--config', 'x', '--force'], /PDBSYNC_ERR_USAGE: .*--force is an option of seed only \(see puppetdb-sync once --help\)/],
  ];
  it.each(invalid)('exits 2 with one line on standard error for %s', (_name, args, message) => {
    const { code, stderr, stdout } = cli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
  });

  it('seed exits 2 naming the seed block when the configuration has none, before touching a database', () => {
    const file = configFile('local: { server_url: "http://127.0.0.1:8080" }\nsync: { remotes: [ { server_url: "http://127.0.0.1:8081" } ] }\n');
    const { code, stderr, stdout } = cli(['seed', '--config', file]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`puppetdb-sync: PDBSYNC_ERR_CONFIG_MISSING_KEY: a required configuration key is missing: seed: missing: puppetdb-sync seed needs a seed block with seed.peer (docs/seeding.md) at ${file}\n`);
  });

  it('exits 2 naming key, file and line for a remote that is the local server', () => {
    const file = configFile('local: { server_url: "http://127.0.0.1:8080" }\nsync: {\n  remotes: [ { server_url: "http://127.0.0.1", interval: 2m } ]\n}\n');
    const { code, stderr } = cli(['once', '--config', file]);
    expect(code).toBe(2);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toContain('PDBSYNC_ERR_CONFIG_REMOTE_IS_LOCAL');
    expect(stderr).toContain('sync.remotes[0].server_url');
    expect(stderr).toContain(`${file}:3`);
  });

  it('exits 2 naming key, file and line for a TLS file that does not exist, before connecting', () => {
    const file = configFile(
      'local: { server_url: "http://127.0.0.1:8080" }\nsync: { remotes: [ { server_url: "https://127.0.0.1:8081" } ] }\n' +
        'tls: {\n  ssl-cert: certs/none.pem\n  ssl-key: none.key\n  ssl-ca-cert: ca.pem\n}\n',
    );
    const { code, stderr, stdout } = cli(['once', '--config', file]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toContain(`PDBSYNC_ERR_CONFIG_TLS_FILE: a TLS file of the configuration cannot be used: tls.ssl-cert: "${join(file, '..', 'certs/none.pem')}": no such file at ${file}:4`);
  });

  it('exits 1 when a remote cannot be reached, logging the error in the sync schema', () => {
    const file = configFile(
      'local: { server_url: "http://127.0.0.1:9" }\nsync: { remotes: [ { server_url: "http://127.0.0.1:10" } ], request-timeout: 2s }\n',
    );
    const { code, stdout } = cli(['once', '--config', file]);
    expect(code).toBe(1);
    const lines = stdout.trim().split('\n').map((line) => checkLogLine(line));
    const syncError = lines.find((line) => line.phase === 'sync' && line.sync_event === 'error');
    expect(syncError).toMatchObject({ ok: false, remote: 'http://127.0.0.1:10', level: 'error' });
    expect(syncError!.err).toMatchObject({ code: 'PDBSYNC_ERR_SERVER_DOWN', message: expect.stringContaining('ECONNREFUSED') });
    expect(syncError!.err).not.toHaveProperty('stack');
    expect(lines.at(-1)).toMatchObject({ message: 'once finished', ok: false, maxRssBytes: expect.any(Number) });
  });

  it('logs ECS with log.format ecs, from once on standard output and from diff on standard error', () => {
    const file = configFile(
      'local: { server_url: "http://127.0.0.1:9" }\nsync: { remotes: [ { server_url: "http://127.0.0.1:10" } ], request-timeout: 2s }\nlog: { format: ecs }\n',
    );
    const once = cli(['once', '--config', file]);
    const diff = cli(['diff', '--config', file]);
    expect([once.code, diff.code]).toEqual([1, 2]);
    for (const output of [once.stdout, diff.stderr]) {
      const lines = output.trim().split('\n').map((line) => checkLogLine(line));
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).toMatchObject({ 'ecs.version': expect.any(String), 'service.name': 'puppetdb-sync', 'log.level': expect.any(String) });
    }
    const syncError = once.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>).find((line) => line.event?.action === 'error');
    expect(syncError).toMatchObject({ event: { outcome: 'failure' }, error: { code: 'PDBSYNC_ERR_SERVER_DOWN' }, puppetdb_sync: { phase: 'sync', remote: 'http://127.0.0.1:10' } });
  });
});

describe('puppetdb-sync once, stopped', () => {
  const servers: FakeServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('finishes the records in flight on %s, starts no other, and exits 3', async (signal) => {
    const RECORD_MS = 1_500;
    const records: number[] = [];
    const certnames = Array.from({ length: 10 }, (_, i) => `node-${i}`);
    const slow = factsetsRemote(certnames, (certname, request, body, response) => {
      records.push(performance.now());
      setTimeout(() => json(200, [factset(certname)])(request, body, response), RECORD_MS);
    });
    const [remote, local] = await Promise.all([fakeServer([slow]), fakeServer([emptyLocal])]);
    servers.push(remote, local);
    const file = configFile(`local: { server_url: "${local.url}" }\nsync: { remotes: [ { server_url: "${remote.url}" } ], concurrency: 2, request-timeout: 10s }\n`);
    const child = spawn(process.execPath, [CLI, 'once', '--config', file, '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    while (records.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    const signalled = performance.now();
    child.kill(signal);
    const code = await exited;
    const stopMs = performance.now() - signalled;

    expect(code).toBe(3);
    // The two records in flight finished: no sooner, and not much later.
    expect(stopMs).toBeGreaterThan(RECORD_MS - 500);
    expect(stopMs).toBeLessThan(RECORD_MS + 5_000);
    expect(records.filter((at) => at > signalled)).toEqual([]);
    const lines = stdout.trim().split('\n').map((line) => checkLogLine(line));
    expect(lines.filter((line) => line.phase === 'record' && line.sync_event === 'finished')).toHaveLength(2);
    expect(lines.find((line) => line.phase === 'entity' && line.sync_event === 'error')).toMatchObject({ sync_entity: 'facts', transferred: 2, failed: 0, err: { code: 'PDBSYNC_ERR_STOPPED' } });
    expect(lines.at(-1)).toMatchObject({ message: 'once finished', ok: false, stoppedBy: signal });
    // Starting Node.js and the CLI can take seconds on a loaded machine.
  }, 30_000);
});
