// The https side of the test cluster: a test PKI for its servers and clients, and the
// PuppetDB settings that serve https with it, as a Puppet-managed PuppetDB does.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestPki, type TestPki } from './test-pki.ts';

/** A client certificate on every server's certificate-allowlist: what the sidecar presents. */
export const ALLOWED_CLIENT = 'pdbsync.example.net';
/** A client certificate the CA signed that no allowlist names: PuppetDB answers it 403. */
export const STRANGER_CLIENT = 'stranger.example.net';
/** PuppetDB's certificate-allowlist of every server, in the PKI's folder. */
export const ALLOWLIST_FILE = 'allowlist';

/**
 * The PKI for servers named `servers`. A server's certificate names its certname and
 * 127.0.0.1, where the tests reach it, and not `localhost`: reached as localhost, the
 * name does not match. The CRL revokes the certificate of `revoked` (by default the last server) (PuppetDB itself
 * does not check it, so the server works; a client with the CRL refuses it). Clients'
 * certificates name 127.0.0.1 too, so the sidecar can serve its API with its own.
 */
export async function makeClusterPki(dir: string, servers: readonly string[], revoked = servers.at(-1)!): Promise<TestPki> {
  const pki = await makeTestPki(dir, {
    certs: [...servers, ALLOWED_CLIENT, STRANGER_CLIENT].map((name) => ({ name, altNames: [`DNS:${name}`, 'IP:127.0.0.1'] })),
    revoked: [revoked],
  });
  await writeFile(join(dir, ALLOWLIST_FILE), `${ALLOWED_CLIENT}\n`);
  return pki;
}

/**
 * config.ini lines of server `name`: [puppetdb] ones (the allowlist) and [jetty] ones
 * (https on `sslPort`), naming the PKI's files by `seen` (a server in a chroot sees its
 * copy of them under another path).
 */
export function httpsSettings(pki: TestPki, name: string, sslPort: number, seen: (path: string) => string = (path) => path): { puppetdb: string[]; jetty: string[] } {
  const { cert, key } = pki.cert(name);
  return {
    // PuppetDB applies the allowlist to https requests only: the tests' plain http is unchanged.
    puppetdb: [`certificate-allowlist = ${seen(join(pki.dir, ALLOWLIST_FILE))}`],
    // Jetty asks every https client for a certificate of ssl-ca-cert (client-auth "need").
    jetty: ['ssl-host = 127.0.0.1', `ssl-port = ${sslPort}`, `ssl-cert = ${seen(cert)}`, `ssl-key = ${seen(key)}`, `ssl-ca-cert = ${seen(pki.ca)}`],
  };
}
