import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { makeTestPki, type TestPki } from '../../scripts/test-pki.ts';
import { parseConfig } from '../../src/config/load.ts';
import { SyncError, type ErrorCode } from '../../src/errors.ts';

const MINIMAL = `local: { server_url: "http://127.0.0.1:8080" }
sync: {
  remotes: [ { server_url: "https://replica.example.net:8081", interval: 2m } ]
}
`;

/**
 * Lines 5 on: `block {`, then one key a line in this order (ssl-cert on line 6), those
 * given; the allowlist only in `http`, the HTTP API's.
 */
const KEYS = ['ssl-cert', 'ssl-key', 'ssl-ca-cert', 'ssl-crl-path', 'certificate-allowlist'] as const;
type Files = Partial<Record<(typeof KEYS)[number], string>>;
function configText(block: 'tls' | 'http', files: Files): string {
  const keys = KEYS.filter((key) => files[key] !== undefined && (block === 'http' || key !== 'certificate-allowlist'));
  const lines = keys.map((key) => `  ${key}: ${JSON.stringify(files[key])}`);
  return `${MINIMAL}${block} {\n${lines.join('\n')}\n}\n`;
}

let dir: string;
let file: string;
let pki: TestPki;
/** A good set for either block. */
let good: Required<Files>;
/** Files that are wrong in one way each. */
let bad: Record<'directory' | 'text' | 'der' | 'brokenCert' | 'encryptedKey' | 'brokenCrl' | 'twoCrls' | 'emptyAllowlist', string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pdbsync-config-tls-'));
  file = join(dir, 'sync.conf');
  pki = await makeTestPki(join(dir, 'pki'), {
    certs: [{ name: 'me', altNames: ['DNS:me'] }, { name: 'other', altNames: ['DNS:other'] }],
    revoked: ['other'],
  });
  const me = pki.cert('me');
  const put = (name: string, content: string | Buffer) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };
  good = { 'ssl-cert': me.cert, 'ssl-key': me.key, 'ssl-ca-cert': pki.ca, 'ssl-crl-path': pki.crl, 'certificate-allowlist': put('allowlist', '  puppet.example.net\n\nme \n') };
  mkdirSync(join(dir, 'a-directory'));
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  bad = {
    directory: join(dir, 'a-directory'),
    text: put('not-pem.txt', 'this is not a certificate\n'),
    der: put('ca.der', new X509Certificate(readFileSync(pki.ca)).raw),
    brokenCert: put('broken-cert.pem', '-----BEGIN CERTIFICATE-----\nMIIBroken\n-----END CERTIFICATE-----\n'),
    encryptedKey: put('encrypted.key', privateKey),
    brokenCrl: put('broken-crl.pem', '-----BEGIN X509 CRL-----\nMIIBroken\n-----END X509 CRL-----\n'),
    twoCrls: put('two-crls.pem', readFileSync(pki.crl, 'utf8') + readFileSync(pki.emptyCrl, 'utf8')),
    emptyAllowlist: put('empty-allowlist', '\n  \n'),
  };
}, 30_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parseConfig: TLS files that can be used', () => {
  it('keeps the paths and the text read, deeply frozen', async () => {
    const config = await parseConfig(configText('tls', good), file);
    expect(config.tls).toEqual({
      certFile: good['ssl-cert'],
      keyFile: good['ssl-key'],
      caFile: good['ssl-ca-cert'],
      crlFile: good['ssl-crl-path'],
      pem: {
        cert: readFileSync(good['ssl-cert'], 'utf8'),
        key: readFileSync(good['ssl-key'], 'utf8'),
        ca: readFileSync(good['ssl-ca-cert'], 'utf8'),
        crls: [readFileSync(good['ssl-crl-path'], 'utf8').trim()],
      },
    });
    expect(Object.isFrozen(config.tls)).toBe(true);
    expect(Object.isFrozen(config.tls!.pem.crls)).toBe(true);
  });

  it('resolves relative paths from the directory of the config file; the CRL is optional', async () => {
    const config = await parseConfig(configText('tls', { 'ssl-cert': 'pki/me.pem', 'ssl-key': './pki/me.key', 'ssl-ca-cert': '../' + join(dir.split('/').at(-1)!, 'pki/ca.pem') }), file);
    expect(config.tls).toMatchObject({ certFile: good['ssl-cert'], keyFile: good['ssl-key'], caFile: good['ssl-ca-cert'], crlFile: undefined, pem: { crls: [] } });
  });

  it('splits a file of several CRLs (one per CA of the chain, as Puppet writes crl.pem)', async () => {
    const config = await parseConfig(configText('tls', { ...good, 'ssl-crl-path': bad.twoCrls }), file);
    expect(config.tls!.pem.crls).toHaveLength(2);
    for (const crl of config.tls!.pem.crls) expect(crl).toMatch(/^-----BEGIN X509 CRL-----\n[\s\S]+\n-----END X509 CRL-----$/);
  });

  it('reads the HTTP API allowlist as PuppetDB does: one certname a line, trimmed, blank lines left out', async () => {
    const config = await parseConfig(configText('http', good), file);
    expect(config.http.tls).toMatchObject({ allowlistFile: good['certificate-allowlist'], allowlist: ['puppet.example.net', 'me'], crlFile: good['ssl-crl-path'] });
    expect((await parseConfig(MINIMAL, file)).http.tls).toBeUndefined();
  });
});

describe('parseConfig: TLS files that cannot be used', () => {
  type Case = { name: string; block: 'tls' | 'http'; files: () => Files; key: string; line: number; says: RegExp; code?: ErrorCode };
  const cases: Case[] = [
    { name: 'a certificate that does not exist', block: 'tls', files: () => ({ ...good, 'ssl-cert': join(dir, 'missing.pem') }), key: 'tls.ssl-cert', line: 6, says: /missing\.pem": no such file/ },
    { name: 'a key path that is a directory', block: 'tls', files: () => ({ ...good, 'ssl-key': bad.directory }), key: 'tls.ssl-key', line: 7, says: /a-directory": is a directory, not a file/ },
    { name: 'a CA file that is not PEM', block: 'tls', files: () => ({ ...good, 'ssl-ca-cert': bad.text }), key: 'tls.ssl-ca-cert', line: 8, says: /not-pem\.txt" holds no PEM certificate/ },
    { name: 'a CA certificate in DER', block: 'tls', files: () => ({ ...good, 'ssl-ca-cert': bad.der }), key: 'tls.ssl-ca-cert', line: 8, says: /ca\.der" holds no PEM certificate/ },
    { name: 'a certificate whose PEM does not parse', block: 'tls', files: () => ({ ...good, 'ssl-cert': bad.brokenCert }), key: 'tls.ssl-cert', line: 6, says: /certificate 1 does not parse/ },
    { name: 'a key file holding a certificate', block: 'tls', files: () => ({ ...good, 'ssl-key': good['ssl-cert'] }), key: 'tls.ssl-key', line: 7, says: /me\.pem" holds no PEM private key/ },
    { name: 'the key of another certificate', block: 'tls', files: () => ({ ...good, 'ssl-key': pki.cert('other').key }), key: 'tls.ssl-key', line: 7, says: /other\.key" is not the key of the certificate in ".*me\.pem" \(tls\.ssl-cert\)/ },
    { name: 'an encrypted key', block: 'tls', files: () => ({ ...good, 'ssl-key': bad.encryptedKey }), key: 'tls.ssl-key', line: 7, says: /is encrypted/ },
    { name: 'a CRL file that is not PEM', block: 'tls', files: () => ({ ...good, 'ssl-crl-path': pki.ca }), key: 'tls.ssl-crl-path', line: 9, says: /ca\.pem" holds no PEM CRL/ },
    { name: 'a CRL whose PEM does not parse', block: 'tls', files: () => ({ ...good, 'ssl-crl-path': bad.brokenCrl }), key: 'tls.ssl-crl-path', line: 9, says: /CRL 1 does not parse/ },
    { name: 'a CRL that does not exist', block: 'tls', files: () => ({ ...good, 'ssl-crl-path': join(dir, 'crl-missing.pem') }), key: 'tls.ssl-crl-path', line: 9, says: /no such file/ },
    { name: 'an HTTP API key of another certificate', block: 'http', files: () => ({ ...good, 'ssl-key': pki.cert('other').key }), key: 'http.ssl-key', line: 7, says: /\(http\.ssl-cert\)/ },
    { name: 'an HTTP API CA that is not PEM', block: 'http', files: () => ({ ...good, 'ssl-ca-cert': bad.text }), key: 'http.ssl-ca-cert', line: 8, says: /holds no PEM certificate/ },
    { name: 'an allowlist that does not exist', block: 'http', files: () => ({ ...good, 'certificate-allowlist': join(dir, 'nobody') }), key: 'http.certificate-allowlist', line: 10, says: /nobody": no such file/ },
    { name: 'an allowlist naming nobody', block: 'http', files: () => ({ ...good, 'certificate-allowlist': bad.emptyAllowlist }), key: 'http.certificate-allowlist', line: 10, says: /names no certname/ },
    { name: 'an HTTP API certificate without its key', block: 'http', files: () => ({ 'ssl-cert': good['ssl-cert'] }), key: 'http.ssl-key', line: 6, says: /missing \(file path\), needed with http\.ssl-cert/, code: 'PDBSYNC_ERR_CONFIG_MISSING_KEY' },
    { name: 'an HTTP API CRL without the rest', block: 'http', files: () => ({ 'ssl-crl-path': good['ssl-crl-path'] }), key: 'http.ssl-cert', line: 6, says: /needed with http\.ssl-crl-path/, code: 'PDBSYNC_ERR_CONFIG_MISSING_KEY' },
    { name: 'an HTTP API certificate without an allowlist', block: 'http', files: () => ({ ...good, 'certificate-allowlist': undefined }), key: 'http.certificate-allowlist', line: 6, says: /needed with http\.ssl-cert/, code: 'PDBSYNC_ERR_CONFIG_MISSING_KEY' },
  ];

  it.each(cases)('$name: one line with the key, the file and the line', async ({ block, files, key, line, says, code }) => {
    const error = await parseConfig(configText(block, files()), file).then(
      () => expect.fail('no error'),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SyncError);
    const { message } = error as SyncError;
    expect((error as SyncError).code).toBe(code ?? 'PDBSYNC_ERR_CONFIG_TLS_FILE');
    expect(message).not.toMatch(/[\r\n]/);
    expect(message).toContain(`: ${key}: `);
    expect(message).toMatch(says);
    expect(message.endsWith(` at ${file}:${line}`), message).toBe(true);
  });
});
