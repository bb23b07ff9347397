/**
 * Reads `puppetdb-sync spool`'s configuration file (schema-spool.ts) as load.ts reads
 * the sidecar's: HOCON (or JSON), every key validated, defaults applied, server URLs
 * normalised, the TLS files read and checked; every failure one line naming the key,
 * the file and the line. The result is a deep-frozen SpoolConfig.
 */

import { resolve as resolvePath } from 'node:path';

import { SyncError } from '../errors.ts';
import { parseHocon } from './hocon.ts';
import { deepFreeze, readConfigFile } from './load.ts';
import { SPOOL_OPTIONS } from './schema-spool.ts';
import { readHttpTlsFiles, readTlsFiles, type FailTls } from './tls-files.ts';
import type { LogFormat, LogLevel, SpoolConfig, SpoolSettings } from './types.ts';
import { Validator, isObject, show, type Tree } from './validate.ts';

/** Reads and validates the spool's file; the SpoolConfig's `file` is its absolute path. */
export async function loadSpoolConfig(file: string): Promise<SpoolConfig> {
  const absolute = resolvePath(file);
  return parseSpoolConfig(await readConfigFile(absolute), absolute);
}

/** Validates the spool's configuration text; `file` (made absolute) is only used in messages and as SpoolConfig.file. */
export async function parseSpoolConfig(text: string, file: string): Promise<SpoolConfig> {
  const absolute = resolvePath(file);
  const parsed = await parseHocon(text.startsWith('\uFEFF') ? text.slice(1) : text, absolute);
  const top = parsed.value ?? {};
  if (!isObject(top)) {
    throw new SyncError('PDBSYNC_ERR_CONFIG_PARSE', `the top level is ${show(top)}, not an object at ${absolute}:1`);
  }
  const validator = new Validator(parsed.positions, SPOOL_OPTIONS);
  const tree = validator.object(top, '', []);
  const spool = tree['spool'] as Tree;
  const servers = spool['servers'] as string[];
  servers.forEach((url, i) => {
    const first = servers.indexOf(url);
    if (first < i) validator.fail('PDBSYNC_ERR_CONFIG_INVALID_VALUE', ['spool', 'servers', i], `${show(url)} is the same server as spool.servers[${first}]`);
  });

  const fail: FailTls = (path, what) => validator.fail('PDBSYNC_ERR_CONFIG_TLS_FILE', path, what);
  const http = tree['http'] as Tree;
  const tls = tree['tls'] as Tree | undefined;
  const log = tree['log'] as Tree;
  return deepFreeze({
    file: absolute,
    spool: spoolSettings(spool),
    http: {
      host: http['host'] as string,
      port: http['port'] as number,
      tls: http['ssl-cert'] === undefined ? undefined : await readHttpTlsFiles(http, ['http'], fail),
    },
    tls: tls === undefined ? undefined : await readTlsFiles(tls, ['tls'], fail),
    log: { level: log['level'] as LogLevel, format: log['format'] as LogFormat },
  });
}

function spoolSettings(spool: Tree): SpoolSettings {
  return {
    servers: (spool['servers'] as string[]).map((serverUrl) => ({ serverUrl })),
    journalDir: spool['journal-dir'] as string,
    graceMs: spool['grace'] as number,
    maxBytes: spool['max-size'] as number,
    maxAgeMs: spool['max-age'] as number,
    reportTtlMs: spool['report-ttl'] as number,
    nodePurgeTtlMs: spool['node-purge-ttl'] as number,
    requestTimeoutMs: spool['request-timeout'] as number,
    reportSettleMs: spool['report-settle'] as number,
    concurrency: spool['concurrency'] as number,
    maxCommandBytes: spool['max-command-size'] as number,
  };
}
