/**
 * Reads the HOCON configuration file, validates it against schema.ts, normalises it,
 * reads and checks the TLS files it names, and returns a deep-frozen Config. Every
 * failure is a SyncError whose message is one line: the key (or, for syntax errors,
 * the column too), the file and the line. Parsing is in hocon.ts, validation in
 * validate.ts, the TLS files in tls-files.ts.
 *
 * The HOCON parser (@pushcorn/hocon-parser) is asynchronous all the way down, so
 * loadConfig and parseConfig return promises.
 */

import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';

import { SyncError } from '../errors.ts';
import { LayeredSources, oneLine, parseHocon, type Path, type SourceMap } from './hocon.ts';
import { iniConfig } from './ini.ts';
import { mergeOver, readConfDir } from './puppetdb-conf-dir.ts';
import { readHttpTlsFiles, readTlsFiles, type FailTls } from './tls-files.ts';
import { readConnection, readStateConfig } from './state-database.ts';
import type { Config, HttpTlsConfig, LogFormat, LogLevel, RemoteConfig, SeedConfig, StateConfig, TlsConfig } from './types.ts';
import { SIDECAR_OPTIONS } from './schema.ts';
import { Validator, isObject, show, type Tree } from './validate.ts';

/** Reads and validates the configuration file; the Config's `file` is its absolute path. */
export async function loadConfig(file: string): Promise<Config> {
  const absolute = resolvePath(file);
  return parseConfig(await readConfigFile(absolute), absolute);
}

/** A configuration file's text; PDBSYNC_ERR_CONFIG_READ when it cannot be read. */
export async function readConfigFile(absolute: string): Promise<string> {
  try {
    return await readFile(absolute, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SyncError('PDBSYNC_ERR_CONFIG_READ', oneLine(reason), { cause: error });
  }
}

/** Validates configuration text; `file` (made absolute) is only used in messages and as Config.file. */
export async function parseConfig(text: string, file: string): Promise<Config> {
  const absolute = resolvePath(file);
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;

  // PuppetDB's own ini form (PE's [sync] section) by its extension; HOCON (and JSON) otherwise.
  const parsed = absolute.endsWith('.ini') ? iniConfig(source, absolute) : await parseHocon(source, absolute);
  const top = parsed.value ?? {};
  if (!isObject(top)) {
    throw new SyncError('PDBSYNC_ERR_CONFIG_PARSE', `the top level is ${show(top)}, not an object at ${absolute}:1`);
  }
  let raw: Tree = top;

  let sources: SourceMap = parsed.positions;
  const confDir = (raw['puppetdb'] as Tree | undefined)?.['conf-dir'];
  if (typeof confDir === 'string' && confDir.trim() !== '') {
    const fail = (what: string) => new Validator(parsed.positions, SIDECAR_OPTIONS).fail('PDBSYNC_ERR_CONFIG_INVALID_VALUE', ['puppetdb', 'conf-dir'], what);
    const layer = await readConfDir(resolvePath(dirname(absolute), confDir), fail, { seed: isObject(raw['seed']) });
    raw = mergeOver(layer.value, raw);
    sources = new LayeredSources([parsed.positions, ...layer.sources]);
  }

  const validator = new Validator(sources, SIDECAR_OPTIONS);
  const tree = validator.object(raw, '', []);
  const config = toConfig(tree, absolute, await readTls(tree, validator), await readState(tree, validator), await readSeed(tree, validator));

  // Compared once normalised, so "http://127.0.0.1" and "http://127.0.0.1:8080/" are one server.
  // Host names are not resolved (no network while loading): "localhost" and
  // "127.0.0.1" count as different servers.
  const remotes = config.sync.remotes;
  const written = (i: number): string => show((raw as { sync: { remotes: Tree[] } }).sync.remotes[i]?.['server_url']);
  remotes.forEach((remote, i) => {
    const path = ['sync', 'remotes', i, 'server_url'];
    if (remote.serverUrl === config.local.serverUrl) {
      validator.fail('PDBSYNC_ERR_CONFIG_REMOTE_IS_LOCAL', path, `${written(i)} is the same server as local.server_url (${remote.serverUrl})`);
    }
    const first = remotes.findIndex((r) => r.serverUrl === remote.serverUrl);
    if (first < i) {
      validator.fail('PDBSYNC_ERR_CONFIG_INVALID_VALUE', path, `${written(i)} is the same server as sync.remotes[${first}] (${remote.serverUrl})`);
    }
  });

  return deepFreeze(config);
}

interface TlsBlocks {
  readonly tls: TlsConfig | undefined;
  readonly httpTls: HttpTlsConfig | undefined;
}

/** The TLS files of both blocks, read and checked (after every key is known valid). */
async function readTls(tree: Tree, validator: Validator): Promise<TlsBlocks> {
  const fail: FailTls = (path, what) => validator.fail('PDBSYNC_ERR_CONFIG_TLS_FILE', path, what);
  const tls = tree['tls'] as Tree | undefined;
  const http = tree['http'] as Tree;
  return {
    tls: tls === undefined ? undefined : await readTlsFiles(tls, ['tls'], fail),
    httpTls: http['ssl-cert'] === undefined ? undefined : await readHttpTlsFiles(http, ['http'], fail),
  };
}

/** The state database's connection, its files read and checked. */
async function readState(tree: Tree, validator: Validator): Promise<StateConfig | undefined> {
  const state = tree['state'] as Tree | undefined;
  if (state === undefined) return undefined;
  return readStateConfig(state, ['state'], (path, what) => validator.fail('PDBSYNC_ERR_CONFIG_INVALID_VALUE', path, what));
}

/** The seed block's databases, their files read and checked; the local one from PuppetDB's database.ini. */
async function readSeed(tree: Tree, validator: Validator): Promise<SeedConfig | undefined> {
  const seed = tree['seed'] as Tree | undefined;
  if (seed === undefined) return undefined;
  const fail = (path: Path, what: string): never => validator.fail('PDBSYNC_ERR_CONFIG_INVALID_VALUE', path, what);
  const localIni = seed['local-database-ini'] as string | undefined;
  // The ini's own keys are not keys of this file: every fault is the key that named it.
  const localFail = (_: Path, what: string): never => fail(['seed', 'local-database-ini'], what);
  return {
    peer: await readConnection(seed['peer'] as Tree, ['seed', 'peer'], fail),
    local: localIni === undefined ? undefined : await readConnection({ 'database-ini': localIni }, ['seed', 'local-database-ini'], localFail),
    puppetdbVersion: seed['puppetdb-version'] as string | undefined,
    puppetdbJar: seed['puppetdb-jar'] as string | undefined,
    pgBinDir: seed['pg-bin-dir'] as string | undefined,
    workDir: seed['work-dir'] as string,
    jobs: seed['jobs'] as number,
    timeLimitMs: seed['time-limit'] as number,
  };
}

/** From the validated tree (keys as in the file) to the Config interface. */
function toConfig(tree: Tree, file: string, { tls, httpTls }: TlsBlocks, state: StateConfig | undefined, seed: SeedConfig | undefined): Config {
  const obj = (t: Tree, key: string): Tree => t[key] as Tree;
  const local = obj(tree, 'local');
  const sync = obj(tree, 'sync');
  const remotes = (sync['remotes'] as Tree[]).map(
    (r): RemoteConfig => ({ serverUrl: r['server_url'] as string, intervalMs: r['interval'] as number }),
  );
  return {
    file,
    local: { serverUrl: local['server_url'] as string },
    sync: {
      remotes,
      nodePurgeTtlMs: sync['node-purge-ttl'] as number,
      reportTtlMs: sync['report-ttl'] as number,
      initialReportThresholdMs: sync['initial-report-threshold'] as number,
      requestTimeoutMs: sync['request-timeout'] as number,
      concurrency: sync['concurrency'] as number,
      maxRecordBytes: sync['max-record-size'] as number,
      entityTimeLimitMs: sync['entity-time-limit'] as number,
      progressIntervalMs: sync['progress-interval'] as number,
      jitterPercent: sync['jitter-percent'] as number,
      backoffMaxMs: sync['backoff-max'] as number,
      queueLimit: sync['queue-limit'] as number,
      reconcileIntervalMs: sync['reconcile-interval'] as number,
      watermarkOverlapMs: sync['watermark-overlap'] as number,
      lateArrivalWindowMs: sync['late-arrival-window'] as number,
      relayScanIntervalMs: sync['relay-scan-interval'] as number,
      reportSettleMs: sync['report-settle'] as number,
    },
    http: {
      host: obj(tree, 'http')['host'] as string,
      port: obj(tree, 'http')['port'] as number,
      startupGraceMs: obj(tree, 'http')['startup-grace'] as number,
      tls: httpTls,
    },
    tls,
    state,
    seed,
    log: { level: obj(tree, 'log')['level'] as LogLevel, format: obj(tree, 'log')['format'] as LogFormat },
  };
}

export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
