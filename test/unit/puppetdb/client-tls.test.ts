import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../../../scripts/test-pki.ts';
import type { TlsConfig } from '../../../src/config/types.ts';
import { SyncError } from '../../../src/errors.ts';
import { PuppetDbClient } from '../../../src/puppetdb/client.ts';

let dir: string;
let pki: TestPki;
let server: Server;
let port: number;
let requests = 0;

/** The client's TLS settings: its certificate, `ca`, and `crl` when given. */
function tls(ca: string, crl?: string): TlsConfig {
  const me = pki.cert('sync');
  const read = (file: string) => readFileSync(file, 'utf8');
  return {
    certFile: me.cert,
    keyFile: me.key,
    caFile: ca,
    crlFile: crl,
    pem: { cert: read(me.cert), key: read(me.key), ca: read(ca), crls: crl === undefined ? [] : [read(crl)] },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pdbsync-client-tls-'));
  pki = await makeTestPki(dir, {
    certs: [{ name: 'pdb', altNames: ['DNS:pdb', 'IP:127.0.0.1'] }, { name: 'sync', altNames: ['DNS:sync'] }],
    revoked: ['pdb'],
  });
  const files = pki.cert('pdb');
  server = createServer({ cert: readFileSync(files.cert), key: readFileSync(files.key), ca: readFileSync(pki.ca), requestCert: true }, (_request, response) => {
    requests++;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ status: { queue_depth: 0 } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
}, 30_000);

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** What one status request ends with: the queue depth, or the error's code and message. */
async function attempt(client: PuppetDbClient): Promise<number | { code: string; message: string }> {
  return client.queueDepth().catch((error: unknown) => ({ code: (error as SyncError).code, message: (error as SyncError).message }));
}

describe('PuppetDbClient over https', () => {
  it('refuses, without retrying, a server certificate that is revoked, of another CA, or for another name', async () => {
    const retries: unknown[] = [];
    const open = (host: string, settings: TlsConfig) =>
      new PuppetDbClient(`https://${host}:${port}`, { timeoutMs: 2000, tls: settings, retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 5 }, onRetry: (e) => retries.push(e) });
    const cases: Array<[string, TlsConfig, RegExp]> = [
      ['127.0.0.1', tls(pki.ca, pki.crl), /certificate revoked \(CERT_REVOKED\)/],
      ['127.0.0.1', tls(pki.otherCa), /\((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)$/],
      ['localhost', tls(pki.ca), /Host: localhost\. is not in the cert's altnames: DNS:pdb, IP Address:127\.0\.0\.1 \(ERR_TLS_CERT_ALTNAME_INVALID\)/],
    ];
    for (const [host, settings, says] of cases) {
      const client = open(host, settings);
      const result = await attempt(client);
      await client.close();
      expect(result).toMatchObject({ code: 'PDBSYNC_ERR_HTTP_TLS', message: expect.stringMatching(says) });
    }
    expect(retries).toEqual([]);
    expect(requests).toBe(0);
  });

  it('takes a CRL given later (SIGHUP) for new requests, and one revoking nothing again', async () => {
    const client = new PuppetDbClient(`https://127.0.0.1:${port}`, { timeoutMs: 2000, tls: tls(pki.ca) });
    expect(await attempt(client)).toBe(0);
    client.useTls(tls(pki.ca, pki.crl));
    expect(await attempt(client)).toMatchObject({ code: 'PDBSYNC_ERR_HTTP_TLS' });
    client.useTls(tls(pki.ca, pki.emptyCrl));
    expect(await attempt(client)).toBe(0);
    await client.close();
  });
});
