// A throw-away certificate authority for TLS tests, made with the openssl command
// line: what a Puppet CA gives its nodes (PEM certificates, keys, a CA certificate and
// its CRL), small enough to make in a second or two.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';

const openssl = (args: string[], cwd: string) => promisify(execFile)('openssl', args, { cwd });

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

/** Where a test PKI's files are; the names are fixed, so a PKI made by another process is found from its folder. */
export interface TestPki {
  readonly dir: string;
  /** The CA certificate that signed every certificate here. */
  readonly ca: string;
  /** A CA certificate that signed nothing here: a client trusting it trusts none of these certificates. */
  readonly otherCa: string;
  /** The CA's CRL revoking the certificates named in `revoked` when the PKI was made. */
  readonly crl: string;
  /** The same CA's CRL revoking nothing. */
  readonly emptyCrl: string;
  cert(name: string): CertFiles;
}

export function testPkiAt(dir: string): TestPki {
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    otherCa: join(dir, 'other-ca.pem'),
    crl: join(dir, 'crl.pem'),
    emptyCrl: join(dir, 'crl-empty.pem'),
    cert: (name) => {
      const files = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
      if (!existsSync(files.cert)) throw new Error(`the test PKI in ${dir} has no certificate ${name}`);
      return files;
    },
  };
}

export interface PkiSpec {
  /** A certificate per entry, with CN `name` and these subjectAltNames (`IP:127.0.0.1`, `DNS:pdb1`). */
  readonly certs: ReadonlyArray<{ readonly name: string; readonly altNames: readonly string[] }>;
  /** Names of `certs` that `crl` revokes. */
  readonly revoked: readonly string[];
}

const DAYS = '3650';

/**
 * Makes the PKI in `dir`. Every certificate is good for server and client
 * authentication, as a Puppet agent's is; keys are RSA 2048, unencrypted.
 */
export async function makeTestPki(dir: string, spec: PkiSpec): Promise<TestPki> {
  await mkdir(dir, { recursive: true });
  const ca = (name: string, cn: string) =>
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', DAYS,
      '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  await Promise.all([ca('ca', 'Puppet CA: pdbsync test'), ca('other-ca', 'Puppet CA: somebody else')]);

  // Serials from 2: `openssl ca` needs distinct ones to revoke.
  await Promise.all(spec.certs.map(async ({ name, altNames }, i) => {
    await writeFile(join(dir, `${name}.ext`), [
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage = serverAuth,clientAuth',
      `subjectAltName = ${altNames.join(',')}`, '',
    ].join('\n'));
    await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(i + 2),
      '-days', DAYS, '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
  }));

  // `openssl ca` keeps its revocations in index.txt; the empty CRL is made before any.
  await writeFile(join(dir, 'ca.cnf'), [
    '[ca]', 'default_ca = test_ca',
    '[test_ca]', `database = ${join(dir, 'index.txt')}`, `crlnumber = ${join(dir, 'crlnumber')}`,
    `certificate = ${join(dir, 'ca.pem')}`, `private_key = ${join(dir, 'ca.key')}`,
    'default_md = sha256', `default_crl_days = ${DAYS}`, '',
  ].join('\n'));
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'crlnumber'), '01\n');
  await openssl(['ca', '-config', 'ca.cnf', '-gencrl', '-out', 'crl-empty.pem'], dir);
  for (const name of spec.revoked) await openssl(['ca', '-config', 'ca.cnf', '-revoke', `${name}.pem`], dir);
  await openssl(['ca', '-config', 'ca.cnf', '-gencrl', '-out', 'crl.pem'], dir);
  return testPkiAt(dir);
}

/**
 * One https request trusting the PKI's CA, presenting `client`'s certificate (none:
 * no certificate); its status and body. A refused handshake rejects.
 */
export async function requestAs(pki: TestPki, client: CertFiles | undefined, method: 'GET' | 'POST', url: string): Promise<{ status: number; body: string }> {
  const dispatcher = new Agent({
    connect: { ca: readFileSync(pki.ca), ...(client && { cert: readFileSync(client.cert), key: readFileSync(client.key) }) },
  });
  try {
    const response = await request(url, { method, dispatcher });
    return { status: response.statusCode, body: await response.body.text() };
  } finally {
    await dispatcher.close();
  }
}
