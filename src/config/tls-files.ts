/**
 * Reads and checks the TLS files a configuration names, when it loads (at start and
 * on every SIGHUP): each file is readable, holds PEM of the kind its key expects and
 * parses, and the key matches the certificate. A file that fails is a configuration
 * error naming the key, the file and the line, found before anything connects.
 *
 * Connections use the text read here, never the files again: what was checked is
 * what is used, and a file changed on disk (a renewed certificate, the CA's new CRL)
 * applies at the next load.
 */

import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';

import type { Path } from './hocon.ts';
import type { HttpTlsConfig, TlsConfig } from './types.ts';
import { show, type Tree } from './validate.ts';

/** Throws the configuration error for the key at `path`. */
export type FailTls = (path: Path, what: string) => never;

const READ_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory, not a file',
  EACCES: 'cannot be read: permission denied',
  ENOTDIR: 'no such file (a part of the path is not a directory)',
};

export async function readText(file: string, path: Path, fail: FailTls): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    return fail(path, `${show(file)}: ${READ_ERRORS[code] ?? (error as Error).message}`);
  }
}

/** The PEM blocks of `text` whose label matches, each from its BEGIN line to its END line. */
function pemBlocks(text: string, label: RegExp): string[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)].filter((m) => label.test(m[1]!)).map((m) => m[0]);
}

/** Every certificate of the file; at least one. X509Certificate alone would take DER too. */
export async function readCertificates(file: string, path: Path, fail: FailTls): Promise<{ text: string; certs: X509Certificate[] }> {
  const text = await readText(file, path, fail);
  const blocks = pemBlocks(text, /^CERTIFICATE$/);
  if (blocks.length === 0) fail(path, `${show(file)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  const certs = blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      return fail(path, `${show(file)}: certificate ${i + 1} does not parse: ${(error as Error).message}`);
    }
  });
  return { text, certs };
}

export async function readKey(file: string, path: Path, fail: FailTls): Promise<{ text: string; key: KeyObject }> {
  const text = await readText(file, path, fail);
  if (pemBlocks(text, /^ENCRYPTED PRIVATE KEY$/).length > 0 || /Proc-Type: 4,ENCRYPTED/.test(text)) {
    fail(path, `${show(file)} is encrypted; give the key without a passphrase, as Puppet writes it`);
  }
  if (pemBlocks(text, /PRIVATE KEY$/).length === 0) fail(path, `${show(file)} holds no PEM private key (-----BEGIN PRIVATE KEY-----)`);
  try {
    return { text, key: createPrivateKey(text) };
  } catch (error) {
    return fail(path, `${show(file)}: the private key does not parse: ${(error as Error).message}`);
  }
}

/**
 * The CRLs of the file, one string each: Node reads only the first CRL of a PEM
 * string, and Puppet's crl.pem holds one per CA of the chain (each is needed, since
 * Node checks the CRL of every CA in the chain).
 */
async function readCrls(file: string, path: Path, fail: FailTls): Promise<string[]> {
  const blocks = pemBlocks(await readText(file, path, fail), /^X509 CRL$/);
  if (blocks.length === 0) fail(path, `${show(file)} holds no PEM CRL (-----BEGIN X509 CRL-----)`);
  blocks.forEach((crl, i) => {
    try {
      createSecureContext({ crl });
    } catch (error) {
      fail(path, `${show(file)}: CRL ${i + 1} does not parse: ${(error as Error).message}`);
    }
  });
  return blocks;
}

/**
 * The TLS block at `path` (`tls`, or `http` for the API's listener), its paths
 * already validated and made absolute: ssl-cert, ssl-key, ssl-ca-cert and the
 * optional ssl-crl-path, the names of PuppetDB's [jetty] settings.
 */
export async function readTlsFiles(block: Tree, path: Path, fail: FailTls): Promise<TlsConfig> {
  const file = (name: string) => block[name] as string;
  const at = (name: string): Path => [...path, name];
  const cert = await readCertificates(file('ssl-cert'), at('ssl-cert'), fail);
  const key = await readKey(file('ssl-key'), at('ssl-key'), fail);
  if (!cert.certs[0]!.checkPrivateKey(key.key)) {
    fail(at('ssl-key'), `${show(file('ssl-key'))} is not the key of the certificate in ${show(file('ssl-cert'))} (${path.join('.')}.ssl-cert)`);
  }
  const ca = await readCertificates(file('ssl-ca-cert'), at('ssl-ca-cert'), fail);
  const crlFile = block['ssl-crl-path'] as string | undefined;
  const crls = crlFile === undefined ? [] : await readCrls(crlFile, at('ssl-crl-path'), fail);
  return {
    certFile: file('ssl-cert'),
    keyFile: file('ssl-key'),
    caFile: file('ssl-ca-cert'),
    crlFile,
    pem: { cert: cert.text, key: key.text, ca: ca.text, crls },
  };
}

/** The HTTP API's listener: its TLS files and the certnames of its certificate-allowlist. */
export async function readHttpTlsFiles(block: Tree, path: Path, fail: FailTls): Promise<HttpTlsConfig> {
  const tls = await readTlsFiles(block, path, fail);
  const allowlistFile = block['certificate-allowlist'] as string;
  const at: Path = [...path, 'certificate-allowlist'];
  // As PuppetDB reads its certificate-allowlist: one certname a line, blank lines ignored.
  const allowlist = (await readText(allowlistFile, at, fail))
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (allowlist.length === 0) fail(at, `${show(allowlistFile)} names no certname: no client could use the API`);
  return { ...tls, allowlistFile, allowlist };
}
