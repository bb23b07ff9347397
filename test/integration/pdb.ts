import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, inject } from 'vitest';
import { CLI, CLI_ENV, CLI_FLAGS } from '../../scripts/bench-cli.ts';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { checkLogLine } from '../log-check.ts';
import { NO_REPORT_SETTLE } from './test-settings.ts';

export { plainReport } from './test-records.ts';

/** Direct access to a real PuppetDB, for loading test data and reading what a sync left. */

export async function submit(
  url: string,
  command: string,
  version: number,
  payload: { certname: string; producer_timestamp: string; [field: string]: unknown },
): Promise<void> {
  const params = new URLSearchParams({ command, version: String(version), certname: payload.certname, 'producer-timestamp': payload.producer_timestamp });
  const response = await fetch(`${url}/pdb/cmd/v1?${params}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  expect(response.status, await response.clone().text()).toBe(200);
}

export async function query(url: string, ast: unknown, options: Record<string, unknown> = {}): Promise<Record<string, unknown>[]> {
  const response = await fetch(`${url}/pdb/query/v4`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...options, query: ast }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as Record<string, unknown>[];
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export const DAY_MS = 24 * 3600 * 1000;

export interface RunResult {
  readonly code: number | null;
  readonly stderr: string;
  /** The JSON log lines of standard output. */
  readonly logs: Record<string, unknown>[];
}

/**
 * Writes a config that pulls from `remotes` into `local`; `extra` goes inside the
 * sync block, `outside` after it (e.g. an http block).
 */
export function writeConfig(local: string, remotes: string[], extra = '', options: { interval?: string; outside?: string } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'pdbsync-test-'));
  const file = join(dir, 'sync.conf');
  const list = remotes.map((url) => `{ server_url: "${url}", interval: ${options.interval ?? '2m'} }`).join(', ');
  const settle = extra.includes('report-settle') ? '' : NO_REPORT_SETTLE;
  writeFileSync(file, `local: { server_url: "${local}" }\nsync: {\n  remotes: [ ${list} ]\n${settle}${extra}}\n${options.outside ?? ''}\n`);
  return file;
}

/** Runs the built CLI (dist/cli.js, with the bin's flags, as `npx puppetdb-sync` does) and collects its logs. */
export function runCli(args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_FLAGS, CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: CLI_ENV });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const logs = stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => checkLogLine(line));
      resolve({ code, stderr, logs });
    });
  });
}

/** Standard error of `once` without its progress lines, which an entity that runs past sync.progress-interval writes there. */
export function besidesProgress(stderr: string): string {
  return stderr.replace(/^progress .*\n/gm, '');
}

/** One pass into `local` from `remote`, with record logs, once the local queue has drained. */
export async function syncInto(local: string, remote: string): Promise<RunResult> {
  const result = await runCli(['once', '--config', writeConfig(local, [remote]), '--log-level', 'debug']);
  expect(besidesProgress(result.stderr)).toBe('');
  await waitForQueueDrained(local);
  return result;
}

/**
 * Records transferred per entity whose certname starts with `prefix` (needs --log-level
 * debug). A tie found in step (its line has `tie`) submitted nothing and is not counted.
 */
export function transferredWithPrefix(result: Pick<RunResult, 'logs'>, prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of result.logs) {
    const isRecord = line.phase === 'record' || line.phase === 'deactivate';
    if (isRecord && line.sync_event === 'finished' && line.tie === undefined && String(line.certname).startsWith(prefix)) {
      out[line.sync_entity as string] = (out[line.sync_entity as string] ?? 0) + 1;
    }
  }
  return out;
}

/** The ties found in step (`equal` or `local-wins`) per entity, of the records whose certname starts with `prefix` (needs --log-level debug). */
export function tiesInStepWithPrefix(result: Pick<RunResult, 'logs'>, prefix: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of result.logs) {
    if (line.phase === 'record' && line.sync_event === 'finished' && line.tie !== undefined && String(line.certname).startsWith(prefix)) {
      (out[line.sync_entity as string] ??= []).push(line.tie as string);
    }
  }
  return out;
}

/** Log lines at warn level or above (pe format: `level` as a word). */
export function warningsOf(result: Pick<RunResult, 'logs'>): Record<string, unknown>[] {
  // The warning about the local server's version (the duplicate-report race on 8.8.1) is the server's, not the pass's.
  return result.logs.filter((line) => (line.level === 'warn' || line.level === 'error' || line.level === 'fatal') && line.version === undefined);
}

/** What a pass logs when the servers are in step: every entity transferred nothing. */
export const NOTHING_TRANSFERRED = { catalogs: 0, 'catalog-inputs': 0, facts: 0, 'fact-expiration': 0, reports: 0, nodes: 0 };

/** One pass each way between `a` and `b`: both exit 0 and transfer nothing. */
export async function expectQuietBothWays(a: string, b: string): Promise<void> {
  for (const [local, remote] of [
    [b, a],
    [a, b],
  ] as const) {
    const result = await syncInto(local, remote);
    expect(result.code).toBe(0);
    expect(transferredByEntity(result)).toEqual(NOTHING_TRANSFERRED);
  }
}

/** `transferred` of each entity/finished line, by entity name. */
export function transferredByEntity(result: RunResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of result.logs) {
    if (line.phase === 'entity' && line.sync_event === 'finished') out[line.sync_entity as string] = line.transferred as number;
  }
  return out;
}

/** A long-running CLI process (`run`), its JSON log lines as they arrive. */
export interface Sidecar {
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
  signal(name: NodeJS.Signals): void;
}

export function startCli(args: string[]): Sidecar {
  const child = spawn(process.execPath, [...CLI_FLAGS, CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: CLI_ENV });
  const logs: Record<string, unknown>[] = [];
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') logs.push(checkLogLine(line));
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { logs, exited, signal: (name) => child.kill(name) };
}

/** A loopback port free now, for a sidecar's HTTP API. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

/**
 * Runs SQL in server `index`'s database (puppetdb1, puppetdb2, ... in the servers'
 * order) as PostgreSQL's superuser; its rows, tab-separated.
 */
export function sql(postgres: PostgresAccess, index: number, statement: string): Promise<string> {
  return psql(postgres, ['-d', `puppetdb${index + 1}`, '-F', '\t', '-c', statement]);
}

/** psql as PostgreSQL's superuser in `database`, each statement on its own (CREATE DATABASE refuses a transaction); its rows, as text. */
export function psqlAdmin(postgres: PostgresAccess, database: string, ...statements: string[]): Promise<string> {
  return psql(postgres, ['-d', database, ...statements.flatMap((statement) => ['-c', statement])]);
}

/** The servers' PostgreSQL: its socket folder and port. */
type PostgresAccess = { readonly socketDir: string; readonly port: number };

function psql(postgres: PostgresAccess, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-h', postgres.socketDir, '-p', String(postgres.port), '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-At', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`psql exited ${code}: ${err}`))));
  });
}

/** One server of each version where the version matrix is given (7.12.1, 8.4.1, 8.8.1), else the bulk servers. */
export function mixedServers(): [string, string, string] {
  const versions = inject('pdbVersions');
  const picked = [versions['7.12.1']?.[0], versions['8.4.1']?.[0], versions['8.8.1']?.[0]];
  if (picked.every((url) => url !== undefined)) return picked as [string, string, string];
  return inject('pdbServers').slice(0, 3) as [string, string, string];
}
