import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadConfig, parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import { normaliseServerUrl } from '../../src/config/validate.ts';
import { SyncError, type ErrorCode } from '../../src/errors.ts';

const FILE = '/etc/puppetdb-sync.conf';

const MINIMAL = `local: { server_url: "http://127.0.0.1:8080" }
sync: {
  remotes: [ { server_url: "https://replica.example.net:8081", interval: 2m } ]
}
`;

/** The minimal config with `sync` extended by `extra` lines (each on its own line, from line 4). */
const withSync = (...extra: string[]): string =>
  `local: { server_url: "http://127.0.0.1:8080" }
sync: {
  remotes: [ { server_url: "https://replica.example.net:8081", interval: 2m } ]
${extra.map((l) => `  ${l}\n`).join('')}}
`;

const HOUR = 3_600_000;

describe('parseConfig: valid configurations', () => {
  it('reads the minimal configuration, with every default applied', async () => {
    expect(await parseConfig(MINIMAL, FILE)).toEqual({
      file: FILE,
      local: { serverUrl: 'http://127.0.0.1:8080' },
      sync: {
        remotes: [{ serverUrl: 'https://replica.example.net:8081', intervalMs: 120_000 }],
        nodePurgeTtlMs: 14 * 24 * HOUR,
        reportTtlMs: 14 * 24 * HOUR,
        initialReportThresholdMs: 0,
        requestTimeoutMs: 60_000,
        concurrency: 4,
        maxRecordBytes: 67_108_864,
        entityTimeLimitMs: 30 * 60_000,
        progressIntervalMs: 30_000,
        jitterPercent: 10,
        backoffMaxMs: 10 * 60_000,
        queueLimit: 100,
        reconcileIntervalMs: HOUR,
        watermarkOverlapMs: 5 * 60_000,
        lateArrivalWindowMs: HOUR,
        relayScanIntervalMs: 60_000,
        reportSettleMs: 120_000,
      },
      http: { host: '127.0.0.1', port: 8095, startupGraceMs: 5 * 60_000, tls: undefined },
      tls: undefined,
      state: undefined,
      seed: undefined,
      log: { level: 'info', format: 'pe' },
    } satisfies Config);
  });

  it('returns a deeply frozen Config', async () => {
    const config = await parseConfig(withSync(), FILE);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.local)).toBe(true);
    expect(Object.isFrozen(config.sync)).toBe(true);
    expect(Object.isFrozen(config.sync.remotes)).toBe(true);
    expect(Object.isFrozen(config.sync.remotes[0])).toBe(true);
    expect(Object.isFrozen(config.log)).toBe(true);
    expect(() => {
      (config.sync.remotes as RemoteLike[]).push({ serverUrl: 'http://x:1', intervalMs: 1 });
    }).toThrow(TypeError);
  });

  type RemoteLike = { serverUrl: string; intervalMs: number };
  type Case = { name: string; text: string; check: (c: Config) => void };
  const cases: Case[] = [
    {
      name: 'ports default to 8080 for http and 8081 for https; host lower-cased; trailing slash stripped',
      text: `local.server_url = "http://LOCALHOST"
sync.remotes = [
  { server_url: "https://Replica.Example.NET/" }
  { server_url: "http://other.example.net" }
]`,
      check: (c) => {
        expect(c.local.serverUrl).toBe('http://localhost:8080');
        expect(c.sync.remotes.map((r) => r.serverUrl)).toEqual(['https://replica.example.net:8081', 'http://other.example.net:8080']);
      },
    },
    {
      name: 'explicit ports are kept, also the schemes\' own 80 and 443 (which URL parsing would drop)',
      text: `local.server_url = "http://127.0.0.1:80"
sync.remotes = [ { server_url: "https://a.example.net:443" }, { server_url: "https://[::1]:9081" } ]`,
      check: (c) => {
        expect(c.local.serverUrl).toBe('http://127.0.0.1:80');
        expect(c.sync.remotes.map((r) => r.serverUrl)).toEqual(['https://a.example.net:443', 'https://[::1]:9081']);
      },
    },
    {
      name: 'durations are parsed, in every form of key',
      text: `local { server_url: "http://127.0.0.1:8080" }
sync {
  remotes: [ { server_url: "https://a:8081", interval: 30s }, { server_url: "https://b:8081", interval: "500ms" } ]
  "request-timeout": 1h
}
sync.node-purge-ttl = 7d
`,
      check: (c) => {
        expect(c.sync.remotes.map((r) => r.intervalMs)).toEqual([30_000, 500]);
        expect(c.sync.requestTimeoutMs).toBe(HOUR);
        expect(c.sync.nodePurgeTtlMs).toBe(7 * 24 * HOUR);
      },
    },
    {
      name: 'the interval defaults to 5s per remote',
      text: withSync().replace(', interval: 2m', ''),
      check: (c) => expect(c.sync.remotes[0]?.intervalMs).toBe(5_000),
    },
    {
      name: 'concurrency and log level; an integer may be written as a string',
      text: `${withSync('concurrency: "64"')}log.level: trace\n`,
      check: (c) => {
        expect(c.sync.concurrency).toBe(64);
        expect(c.log.level).toBe('trace');
      },
    },
    {
      name: 'JSON is HOCON too; comments are allowed',
      text: `{
  // the local server
  "local": { "server_url": "http://127.0.0.1:8080" },
  # the remotes
  "sync": { "remotes": [ { "server_url": "http://127.0.0.2:8080", "interval": "1m" } ] }
}`,
      check: (c) => expect(c.sync.remotes).toEqual([{ serverUrl: 'http://127.0.0.2:8080', intervalMs: 60_000 }]),
    },
    {
      name: 'a byte order mark and CRLF line ends are fine',
      text: `\uFEFF${MINIMAL.replace(/\n/g, '\r\n')}`,
      check: (c) => expect(c.local.serverUrl).toBe('http://127.0.0.1:8080'),
    },
    {
      name: 'substitutions from the environment',
      text: MINIMAL.replace('"http://127.0.0.1:8080"', '${PDBSYNC_TEST_LOCAL_URL}'),
      check: (c) => expect(c.local.serverUrl).toBe('http://127.0.0.2:8080'),
    },
  ];

  it.each(cases)('$name', async ({ text, check }) => {
    process.env['PDBSYNC_TEST_LOCAL_URL'] = 'http://127.0.0.2:8080';
    try {
      check(await parseConfig(text, FILE));
    } finally {
      delete process.env['PDBSYNC_TEST_LOCAL_URL'];
    }
  });

  it('makes the file path absolute', async () => {
    const config = await parseConfig(MINIMAL, 'relative.conf');
    expect(config.file).toBe(join(process.cwd(), 'relative.conf'));
  });
});

describe('parseConfig: errors', () => {
  type ErrorCase = {
    name: string;
    text: string;
    code: ErrorCode;
    /** The dotted key, or null for syntax errors. */
    key: string | null;
    /** "4" or, for syntax errors, "4:12". */
    at: string;
    /** Something else the message must say. */
    says?: RegExp;
  };

  const cases: ErrorCase[] = [
    // A remote that is the local server
    {
      name: 'remote equal to local',
      text: withSync().replace('https://replica.example.net:8081', 'http://127.0.0.1:8080'),
      code: 'PDBSYNC_ERR_CONFIG_REMOTE_IS_LOCAL',
      key: 'sync.remotes[0].server_url',
      at: '3',
    },
    {
      name: 'remote equal to local only once the port is defaulted',
      text: `local: { server_url: "http://127.0.0.1" }
sync: {
  remotes: [
    { server_url: "https://replica.example.net:8081" }
    { server_url: "http://127.0.0.1:8080/" }
  ]
}`,
      code: 'PDBSYNC_ERR_CONFIG_REMOTE_IS_LOCAL',
      key: 'sync.remotes[1].server_url',
      at: '5',
      says: /"http:\/\/127\.0\.0\.1:8080\/" is the same server as local\.server_url \(http:\/\/127\.0\.0\.1:8080\)/,
    },
    {
      name: 'remote equal to local once the host is lower-cased',
      text: `local.server_url: "https://PuppetDB.example.net"\nsync.remotes: [{ server_url: "https://puppetdb.example.net:8081" }]`,
      code: 'PDBSYNC_ERR_CONFIG_REMOTE_IS_LOCAL',
      key: 'sync.remotes[0].server_url',
      at: '2',
    },
    {
      name: 'two equal remotes',
      text: `local.server_url: "http://127.0.0.1:8080"
sync.remotes: [
  { server_url: "https://a.example.net" },
  { server_url: "https://b.example.net" },
  { server_url: "https://A.example.net:8081" }
]`,
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'sync.remotes[2].server_url',
      at: '5',
      says: /same server as sync\.remotes\[0\]/,
    },
    // Unknown keys
    {
      name: 'unknown key at the top level',
      text: `${MINIMAL}\nsyncc: { remotes: [] }\n`,
      code: 'PDBSYNC_ERR_CONFIG_UNKNOWN_KEY',
      key: 'syncc',
      at: '6',
    },
    {
      name: 'unknown key in a remote',
      text: `local: { server_url: "http://127.0.0.1:8080" }
sync: {
  remotes: [
    {
      server_url: "https://replica.example.net:8081"
      intervall: 2m
    }
  ]
}`,
      code: 'PDBSYNC_ERR_CONFIG_UNKNOWN_KEY',
      key: 'sync.remotes[0].intervall',
      at: '6',
      says: /known here: server_url, interval/,
    },
    {
      name: 'unknown key in the second remote, all on one line',
      text: withSync().replace('interval: 2m } ]', 'interval: 2m }, { server_url: "http://b", intervall: 2m } ]'),
      code: 'PDBSYNC_ERR_CONFIG_UNKNOWN_KEY',
      key: 'sync.remotes[1].intervall',
      at: '3',
    },
    {
      name: 'unknown key in a nested object',
      text: withSync('entity-time-limt: 30m'),
      code: 'PDBSYNC_ERR_CONFIG_UNKNOWN_KEY',
      key: 'sync.entity-time-limt',
      at: '4',
    },
    {
      name: 'unknown key given as a dotted path',
      text: `${MINIMAL}log.colour = json\n`,
      code: 'PDBSYNC_ERR_CONFIG_UNKNOWN_KEY',
      key: 'log.colour',
      at: '5',
    },
    {
      name: 'unknown quoted key',
      text: `${MINIMAL}tls {\n  ssl-cert: a\n  ssl-key: b\n  ssl-ca-cert: c\n  "ssl.crl": d\n}\n`,
      code: 'PDBSYNC_ERR_CONFIG_UNKNOWN_KEY',
      key: 'tls."ssl.crl"',
      at: '9',
    },
    // Bad durations
    {
      name: 'HOCON duration syntax',
      text: withSync().replace('interval: 2m', '\n    interval: "2 minutes"'),
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'sync.remotes[0].interval',
      at: '4',
      says: /"2 minutes" is not a duration \(30s, 2m, 1h, 7d\)/,
    },
    {
      name: 'a bare number as a duration',
      text: withSync('request-timeout = 60'),
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'sync.request-timeout',
      at: '4',
      says: /60 is not a duration/,
    },
    {
      name: 'a negative duration, given as a dotted path',
      text: `${MINIMAL}\nsync.node-purge-ttl = -1d\n`,
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'sync.node-purge-ttl',
      at: '6',
    },
    {
      name: 'a zero interval',
      text: withSync().replace('interval: 2m', 'interval: 0s'),
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'sync.remotes[0].interval',
      at: '3',
      says: /shorter than the minimum 1ms/,
    },
    // Bad URLs
    {
      name: 'ftp URL',
      text: MINIMAL.replace('http://127.0.0.1:8080', 'ftp://127.0.0.1'),
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'local.server_url',
      at: '1',
      says: /not an http or https URL/,
    },
    {
      name: 'not a URL',
      text: withSync().replace('https://replica.example.net:8081', 'replica.example.net:8081'),
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'sync.remotes[0].server_url',
      at: '3',
    },
    {
      name: 'a URL with a path',
      text: withSync().replace('https://replica.example.net:8081', 'https://replica.example.net:8081/pdb/query/v4'),
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'sync.remotes[0].server_url',
      at: '3',
      says: /must not have a path/,
    },
    {
      name: 'a URL with a query',
      text: MINIMAL.replace('http://127.0.0.1:8080', 'http://127.0.0.1:8080/?x=1'),
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'local.server_url',
      at: '1',
    },
    {
      name: 'a URL with credentials, which are not echoed',
      text: MINIMAL.replace('http://127.0.0.1:8080', 'http://admin:s3cret@127.0.0.1:8080'),
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'local.server_url',
      at: '1',
      says: /^(?!.*s3cret).*must not contain credentials/,
    },
    {
      name: 'a number as a URL',
      text: `${MINIMAL}local.server_url = 8080\n`,
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'local.server_url',
      at: '5',
    },
    // Missing keys
    {
      name: 'missing sync.remotes (empty sync block): the line of the block',
      text: `# puppetdb-sync\n\nsync: {\n}\n`,
      code: 'PDBSYNC_ERR_CONFIG_MISSING_KEY',
      key: 'sync.remotes',
      at: '3',
    },
    {
      name: 'missing server_url in a remote: the line of its object',
      text: `local: { server_url: "http://127.0.0.1:8080" }
sync: {
  remotes: [
    { server_url: "https://a.example.net" }
    {
      interval: 5m
    }
  ]
}`,
      code: 'PDBSYNC_ERR_CONFIG_MISSING_KEY',
      key: 'sync.remotes[1].server_url',
      at: '5',
    },
    {
      name: 'missing sync.remotes',
      text: `local: { server_url: "http://127.0.0.1:8080" }\n\nsync {\n  concurrency: 2\n}\n`,
      code: 'PDBSYNC_ERR_CONFIG_MISSING_KEY',
      key: 'sync.remotes',
      at: '3',
    },
    {
      name: 'an empty file',
      text: '',
      code: 'PDBSYNC_ERR_CONFIG_MISSING_KEY',
      key: 'sync.remotes',
      at: '1',
    },
    {
      name: 'a tls block without its key',
      text: `${MINIMAL}tls {\n  ssl-cert: a.pem\n  ssl-ca-cert: ca.pem\n}\n`,
      code: 'PDBSYNC_ERR_CONFIG_MISSING_KEY',
      key: 'tls.ssl-key',
      at: '5',
    },
    // Other invalid values
    {
      name: 'empty remotes',
      text: withSync().replace(/remotes: \[.*\]/, 'remotes: []'),
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'sync.remotes',
      at: '3',
      says: /is empty/,
    },
    {
      name: 'remotes given as one object rather than an array',
      text: withSync().replace(/remotes: \[(.*)\]/, 'remotes: $1'),
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'sync.remotes',
      at: '3',
      says: /is not an array/,
    },
    {
      name: 'a remote that is a string',
      text: withSync().replace(/remotes: \[.*\]/, 'remotes: [\n    "https://a.example.net"\n  ]'),
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'sync.remotes[0]',
      at: '4',
      says: /is not an object/,
    },
    {
      name: 'concurrency out of range',
      text: withSync('concurrency: 65'),
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'sync.concurrency',
      at: '4',
      says: /65 is not an integer from 1 to 64/,
    },
    {
      name: 'concurrency not an integer',
      text: withSync('', 'concurrency: 2.5'),
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'sync.concurrency',
      at: '5',
    },
    {
      name: 'log level not known',
      text: `${MINIMAL}log { level: verbose }\n`,
      code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE',
      key: 'log.level',
      at: '5',
      says: /"verbose" is not one of fatal, error, warn, info, debug, trace/,
    },
    // HOCON that does not parse: a position instead of a key
    {
      name: 'an array not closed',
      text: `local: { server_url: "http://127.0.0.1:8080" }\nsync: {\n  remotes: [ { server_url: "https://a" }\n}\n`,
      code: 'PDBSYNC_ERR_CONFIG_PARSE',
      key: null,
      at: '4:1',
    },
    {
      name: 'a string not closed',
      text: `local: { server_url: "http://127.0.0.1:8080 }\n`,
      code: 'PDBSYNC_ERR_CONFIG_PARSE',
      key: null,
      at: '1:46',
      says: /quoted string not closed/,
    },
    {
      name: 'an unquoted URL',
      text: `local: { server_url: http://127.0.0.1:8080 }\n`,
      code: 'PDBSYNC_ERR_CONFIG_PARSE',
      key: null,
      at: '1:26',
      says: /must be quoted/,
    },
    {
      name: 'an unknown substitution',
      text: MINIMAL.replace('2m', '${nope}'),
      code: 'PDBSYNC_ERR_CONFIG_PARSE',
      key: null,
      at: '3:74',
      says: /unable to resolve 'nope'/,
    },
    {
      name: 'a top-level array',
      text: '[1, 2]\n',
      code: 'PDBSYNC_ERR_CONFIG_PARSE',
      key: null,
      at: '1',
    },
    // Never the network, never code
    {
      name: 'include, which could fetch a URL',
      text: `${MINIMAL}include "http://127.0.0.1:9/evil.conf"\n`,
      code: 'PDBSYNC_ERR_CONFIG_UNSUPPORTED',
      key: null,
      at: '5:1',
      says: /include is not supported/,
    },
    {
      name: 'include as a value, which could run a .js file',
      text: `${MINIMAL}log: include "evil.js"\n`,
      code: 'PDBSYNC_ERR_CONFIG_UNSUPPORTED',
      key: null,
      at: '5:6',
    },
    {
      name: 'a value transform, which could evaluate code',
      text: `${MINIMAL}log.level: x | eval { expr: "1" }\n`,
      code: 'PDBSYNC_ERR_CONFIG_UNSUPPORTED',
      key: null,
      at: '5:14',
      says: /transforms are not supported/,
    },
  ];

  it.each(cases)('$name', async ({ text, code, key, at, says }) => {
    const error = await parseConfig(text, FILE).then(
      () => expect.fail('no error'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SyncError);
    const { message } = error as SyncError;
    expect((error as SyncError).code).toBe(code);
    expect(message).not.toMatch(/[\r\n]/);
    expect(message.startsWith(`${code}: `)).toBe(true);
    if (key !== null) expect(message).toContain(`: ${key}: `);
    expect(message.endsWith(` at ${FILE}:${at}`), message).toBe(true);
    if (says) expect(message).toMatch(says);
  });

  it('matches the documented example message', async () => {
    const text = `local: { server_url: "http://127.0.0.1:8080" }
sync: {
  remotes: [ { server_url: "https://replica.example.net:8081",
               interval: 2 minutes } ]
}`;
    await expect(parseConfig(text, FILE)).rejects.toThrow(
      'PDBSYNC_ERR_CONFIG_INVALID_VALUE: a configuration value is invalid: sync.remotes[0].interval: "2 minutes" is not a duration (30s, 2m, 1h, 7d) at /etc/puppetdb-sync.conf:4',
    );
  });
});

describe('normaliseServerUrl', () => {
  it.each([
    ['http://127.0.0.1', 'http://127.0.0.1:8080'],
    ['https://h', 'https://h:8081'],
    ['http://h:80', 'http://h:80'],
    ['https://h:443/', 'https://h:443'],
    ['HTTP://H.Example.NET:8080/', 'http://h.example.net:8080'],
    ['http://[0:0:0:0:0:0:0:1]', 'http://[::1]:8080'],
    ['http://[::1]:80', 'http://[::1]:80'],
  ])('%s is %s', (input, output) => {
    expect(normaliseServerUrl(input)).toBe(output);
  });

  it.each([['ftp://h'], ['h:8080'], [''], ['http://'], ['http://h/x'], ['http://h//'], ['http://h?'], ['http://h#x'], ['http://u@h']])(
    '%j is refused',
    (input) => {
      expect(() => normaliseServerUrl(input)).toThrow();
    },
  );
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pdbsync-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file', async () => {
    const file = join(dir, 'sync.conf');
    writeFileSync(file, MINIMAL);
    const config = await loadConfig(file);
    expect(config.file).toBe(file);
    expect(config.sync.remotes[0]?.serverUrl).toBe('https://replica.example.net:8081');
  });

  it('names the file in errors', async () => {
    const file = join(dir, 'bad.conf');
    writeFileSync(file, `${MINIMAL}\n\nbogus = 1\n`);
    await expect(loadConfig(file)).rejects.toThrow(`PDBSYNC_ERR_CONFIG_UNKNOWN_KEY: unknown configuration key: bogus: unknown key; known here: puppetdb, local, sync, tls, http, state, seed, log at ${file}:7`);
  });

  it('reports a file that cannot be read', async () => {
    const file = join(dir, 'missing.conf');
    const error = await loadConfig(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncError);
    expect((error as SyncError).code).toBe('PDBSYNC_ERR_CONFIG_READ');
    expect((error as SyncError).message).toContain(file);
  });
});
