import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { freePort } from '../../../scripts/os.ts';
import { replayTarget } from '../../../src/spool/replay-args.ts';
import { SyncError } from '../../../src/errors.ts';

const CLI = new URL('../../../src/cli.ts', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'pdbsync-spool-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('puppetdb-sync spool: the command line', () => {
  it('gives help on spool and spool replay, as spool --help and as help spool', () => {
    const [flag, word] = [cli(['spool', '--help']), cli(['help', 'spool'])];
    expect(flag.code).toBe(0);
    expect(flag.stdout).toMatch(/^Usage: puppetdb-sync spool --config FILE/);
    expect(flag.stdout).toContain('puppetdb-sync spool replay --config FILE --server URL --since TIME');
    expect(word.stdout).toBe(flag.stdout);
    expect(cli(['--help']).stdout).toContain('puppetdb-sync spool --config FILE');
  });

  const spoolFile = configFile('spool.conf', 'spool { servers = ["http://127.0.0.1:1"] }\n');
  const invalid: Array<[string, string[], RegExp]> = [
    ['replay without --server', ['spool', 'replay', '--config', spoolFile, '--since', '2h'], /PDBSYNC_ERR_USAGE: .*spool replay needs --server URL and --since TIME/],
    ['replay with a --since that reads as no time', ['spool', 'replay', '--config', spoolFile, '--server', 'http://a', '--since', 'yesterday'], /PDBSYNC_ERR_USAGE: .*--since: "yesterday" is neither an ISO 8601 time/],
    ['replay with a --server that is not a URL', ['spool', 'replay', '--config', spoolFile, '--server', 'pdb1', '--since', '2h'], /PDBSYNC_ERR_USAGE: .*--server: "pdb1" is not a URL/],
    ['--since without replay', ['spool', '--config', spoolFile, '--since', '2h'], /PDBSYNC_ERR_USAGE: .*--since is an option of spool replay only/],
    ['--server on another command', ['once', '--config', spoolFile, '--server', 'http://a'], /PDBSYNC_ERR_USAGE: .*--server is an option of spool replay only/],
    ['an unknown spool subcommand', ['spool', 'drain', '--config', spoolFile], /PDBSYNC_ERR_USAGE: .*unknown command "spool drain"/],
    ['the sidecar\'s file given to the spool', ['spool', '--config', configFile('sync.conf', 'sync: { remotes: [ { server_url: "http://127.0.0.1:9" } ] }\n')], /PDBSYNC_ERR_CONFIG_UNKNOWN_KEY: .*sync: unknown key; known here: spool, http, tls, log at .*sync.conf:1/],
  ];
  it.each(invalid)('exits 2 with one line on standard error for %s', (_name, args, message) => {
    const { code, stderr, stdout } = cli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
  });

  it('runs until SIGTERM: journals a command before its 200, then stops listening, closes the journal and exits 0', async () => {
    const port = await freePort();
    const file = configFile('running.conf', `spool { servers = ["http://127.0.0.1:1"], journal-dir = "${join(dir, 'journal')}" }\nhttp { port = ${port} }\n`);
    const child = spawn(process.execPath, [CLI, 'spool', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    for (let waited = 0; !stdout.includes('"spool listening"') && waited < 30_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    const payload = { certname: 'web1.example.net', producer_timestamp: new Date().toISOString(), environment: 'production', producer: 'puppet', values: {} };
    const response = await fetch(`http://127.0.0.1:${port}/pdb/cmd/v1?command=replace_facts&version=5&certname=web1.example.net`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    expect(response.status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { message: string });
    expect(lines.map((line) => line.message)).toEqual(expect.arrayContaining(['spool listening', 'spool stopped']));
  }, 60_000);
});

describe('replayTarget', () => {
  const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);
  it.each([
    ['2026-12-01T00:00:00Z', Date.UTC(2026, 11, 1)],
    ['2026-12-01T01:00:00+01:00', Date.UTC(2026, 11, 1)],
    ['2026-12-01', Date.UTC(2026, 11, 1)],
    ['2h', NOW - 2 * 3_600_000],
    ['3d', NOW - 3 * 86_400_000],
  ])('reads --since %s', (since, expected) => {
    expect(replayTarget('https://PDB1.example.net', since, NOW)).toEqual({ serverUrl: 'https://pdb1.example.net:8081', sinceMs: expected });
  });

  it.each([['2026-12-01T00:00:00'], ['soon'], ['2 hours']])('refuses --since %s (a time without its zone would depend on the host\'s)', (since) => {
    expect(() => replayTarget('http://a', since, NOW)).toThrow(SyncError);
  });
});
