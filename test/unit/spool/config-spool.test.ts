import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTestPki, type TestPki } from '../../../scripts/test-pki.ts';
import { loadSpoolConfig, parseSpoolConfig } from '../../../src/config/load-spool.ts';
import { SyncError, type ErrorCode } from '../../../src/errors.ts';

const FILE = '/etc/puppetdb-sync/spool.conf';
const MINIMAL = `spool {
  servers = ["https://PuppetDB1.example.net", "http://127.0.0.1"]
}
`;

describe('parseSpoolConfig: valid files', () => {
  it('reads the minimal file with every default applied and the URLs normalised', async () => {
    expect(await parseSpoolConfig(MINIMAL, FILE)).toEqual({
      file: FILE,
      spool: {
        servers: [{ serverUrl: 'https://puppetdb1.example.net:8081' }, { serverUrl: 'http://127.0.0.1:8080' }],
        journalDir: '/var/lib/puppetdb-sync/spool',
        graceMs: 5 * 60_000,
        maxBytes: 10 * 1024 ** 3,
        maxAgeMs: 14 * 86_400_000,
        reportTtlMs: 14 * 86_400_000,
        nodePurgeTtlMs: 14 * 86_400_000,
        requestTimeoutMs: 60_000,
        reportSettleMs: 120_000,
        concurrency: 2,
        maxCommandBytes: 1024 ** 3,
      },
      http: { host: '127.0.0.1', port: 8097, tls: undefined },
      tls: undefined,
      log: { level: 'info', format: 'pe' },
    });
  });

  it('reads every key given, a relative journal-dir from the file\'s folder', async () => {
    const text = `spool {
  servers = ["https://a.example.net:8081"]
  journal-dir = spool-journal
  grace = 90s
  max-size = 2097152
  max-age = 2d
  report-ttl = 7d
  node-purge-ttl = 0s
  request-timeout = 5s
  report-settle = 0s
  concurrency = 8
  max-command-size = "4096"
}
http { host = "0.0.0.0", port = 18097 }
log { level = debug, format = ecs }
`;
    const config = await parseSpoolConfig(text, FILE);
    expect(config.spool).toMatchObject({
      journalDir: '/etc/puppetdb-sync/spool-journal',
      graceMs: 90_000,
      maxBytes: 2_097_152,
      maxAgeMs: 2 * 86_400_000,
      reportTtlMs: 7 * 86_400_000,
      nodePurgeTtlMs: 0,
      requestTimeoutMs: 5000,
      reportSettleMs: 0,
      concurrency: 8,
      maxCommandBytes: 4096,
    });
    expect(config.http).toEqual({ host: '0.0.0.0', port: 18097, tls: undefined });
    expect(config.log).toEqual({ level: 'debug', format: 'ecs' });
  });

  it('returns a deeply frozen configuration', async () => {
    const config = await parseSpoolConfig(MINIMAL, FILE);
    expect(Object.isFrozen(config.spool.servers[0])).toBe(true);
  });
});

/** The error's code and its one line; fails the test when the text loads. */
async function failure(text: string, file = FILE): Promise<{ code: ErrorCode; message: string }> {
  const error = await parseSpoolConfig(text, file).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SyncError);
  return { code: (error as SyncError).code, message: (error as SyncError).message };
}

describe('parseSpoolConfig: every error names the key, the file and the line', () => {
  const cases: readonly { name: string; text: string; code: ErrorCode; says: string }[] = [
    { name: 'no spool block', text: 'log { level = info }\n', code: 'PDBSYNC_ERR_CONFIG_MISSING_KEY', says: `spool.servers: missing (array (at least 1)) at ${FILE}:1` },
    { name: 'no servers', text: 'spool {\n  grace = 5m\n}\n', code: 'PDBSYNC_ERR_CONFIG_MISSING_KEY', says: `spool.servers: missing (array (at least 1)) at ${FILE}:1` },
    { name: 'no server', text: 'spool {\n  servers = []\n}\n', code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE', says: `spool.servers: is empty (at least 1 needed) at ${FILE}:2` },
    { name: 'a server that is not a URL', text: 'spool {\n  servers = [\n    "https://a.example.net",\n    "puppetdb2"\n  ]\n}\n', code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE', says: `spool.servers[1]: "puppetdb2" is not a URL` },
    { name: 'a server named twice', text: 'spool {\n  servers = [\n    "https://a.example.net",\n    "https://A.example.net:8081/"\n  ]\n}\n', code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE', says: `spool.servers[1]: "https://a.example.net:8081" is the same server as spool.servers[0] at ${FILE}:4` },
    { name: 'a sidecar key', text: `${MINIMAL}sync { remotes = [] }\n`, code: 'PDBSYNC_ERR_CONFIG_UNKNOWN_KEY', says: `sync: unknown key; known here: spool, http, tls, log at ${FILE}:4` },
    { name: 'an unknown spool key', text: 'spool {\n  servers = ["https://a.example.net"]\n  max-bytes = 10\n}\n', code: 'PDBSYNC_ERR_CONFIG_UNKNOWN_KEY', says: `spool.max-bytes: unknown key; known here: servers, journal-dir, grace` },
    { name: 'a bad duration', text: 'spool {\n  servers = ["https://a.example.net"]\n  grace = soon\n}\n', code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE', says: `spool.grace: "soon"` },
    { name: 'a max-age below the minimum', text: 'spool {\n  servers = ["https://a.example.net"]\n  max-age = 30s\n}\n', code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE', says: `spool.max-age: "30s" is shorter than the minimum 1m at ${FILE}:3` },
    { name: 'a tiny max-size', text: 'spool {\n  servers = ["https://a.example.net"]\n  max-size = 1000\n}\n', code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE', says: `spool.max-size: 1000 is not an integer from 1048576 to 9007199254740991 at ${FILE}:3` },
    { name: 'a zero concurrency', text: 'spool {\n  servers = ["https://a.example.net"]\n  concurrency = 0\n}\n', code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE', says: `spool.concurrency: 0 is not an integer from 1 to 64 at ${FILE}:3` },
    { name: 'port 0 (the spool must listen)', text: `${MINIMAL}http {\n  port = 0\n}\n`, code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE', says: `http.port: 0 is not an integer from 1 to 65535 at ${FILE}:5` },
    { name: 'the sidecar\'s startup-grace', text: `${MINIMAL}http {\n  startup-grace = 5m\n}\n`, code: 'PDBSYNC_ERR_CONFIG_UNKNOWN_KEY', says: `http.startup-grace: unknown key` },
    { name: 'http.ssl-cert without the rest', text: `${MINIMAL}http {\n  ssl-cert = /x.pem\n}\n`, code: 'PDBSYNC_ERR_CONFIG_MISSING_KEY', says: `http.ssl-key: missing (file path), needed with http.ssl-cert at ${FILE}:5` },
    { name: 'a tls block without its key', text: `${MINIMAL}tls {\n  ssl-cert = /x.pem\n}\n`, code: 'PDBSYNC_ERR_CONFIG_MISSING_KEY', says: `tls.ssl-key: missing (file path) at ${FILE}:4` },
    { name: 'an unknown log level', text: `${MINIMAL}log {\n  level = loud\n}\n`, code: 'PDBSYNC_ERR_CONFIG_INVALID_VALUE', says: `log.level: "loud" is not one of fatal, error, warn, info, debug, trace at ${FILE}:5` },
  ];
  it.each(cases)('$name', async ({ text, code, says }) => {
    const error = await failure(text);
    expect(error.code).toBe(code);
    expect(error.message).toContain(says);
    expect(error.message).toMatch(new RegExp(`at ${FILE}:\\d+$`));
  });

  it('a syntax error names the line', async () => {
    const error = await failure('spool {\n  servers = [\n');
    expect(error.code).toBe('PDBSYNC_ERR_CONFIG_PARSE');
    expect(error.message).toContain(FILE);
  });
});

describe('loadSpoolConfig: files', () => {
  let dir: string;
  let pki: TestPki;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pdbsync-spool-config-'));
    pki = await makeTestPki(join(dir, 'pki'), { certs: [{ name: 'puppet', altNames: ['DNS:puppet'] }], revoked: [] });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads both TLS blocks, the files checked and their text kept', async () => {
    const me = pki.cert('puppet');
    writeFileSync(join(dir, 'allowlist'), 'puppet\n');
    const file = join(dir, 'spool.conf');
    writeFileSync(file, `${MINIMAL}tls { ssl-cert = "${me.cert}", ssl-key = "${me.key}", ssl-ca-cert = "${pki.ca}" }
http { ssl-cert = "${me.cert}", ssl-key = "${me.key}", ssl-ca-cert = "${pki.ca}", certificate-allowlist = allowlist }
`);
    const config = await loadSpoolConfig(file);
    expect(config.tls?.pem.cert).toContain('BEGIN CERTIFICATE');
    expect(config.http.tls?.allowlist).toEqual(['puppet']);
  });

  it('names the key, the file and the line of a TLS file that cannot be used', async () => {
    const file = join(dir, 'bad-tls.conf');
    writeFileSync(file, `${MINIMAL}tls {\n  ssl-cert = missing.pem\n  ssl-key = missing.key\n  ssl-ca-cert = ca.pem\n}\n`);
    await expect(loadSpoolConfig(file)).rejects.toThrow(`PDBSYNC_ERR_CONFIG_TLS_FILE`);
    await expect(loadSpoolConfig(file)).rejects.toThrow(`tls.ssl-cert: "${join(dir, 'missing.pem')}": no such file at ${file}:5`);
  });

  it('reports a file that cannot be read', async () => {
    await expect(loadSpoolConfig(join(dir, 'absent.conf'))).rejects.toThrow('PDBSYNC_ERR_CONFIG_READ');
  });
});
