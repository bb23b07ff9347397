import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, requestAs, type CertFiles, type TestPki } from '../../../scripts/test-pki.ts';
import { parseConfig } from '../../../src/config/load.ts';
import type { HttpTlsConfig } from '../../../src/config/types.ts';
import { buildHttpApi } from '../../../src/service/http.ts';
import { ClientCertificateGuard, certificateNames } from '../../../src/service/http-tls.ts';
import { SyncMetrics } from '../../../src/service/metrics.ts';
import type { ServiceControl } from '../../../src/service/status.ts';

let dir: string;
let pki: TestPki;
let guard: ClientCertificateGuard;
let app: FastifyInstance;
let origin: string;
const triggers: (string | undefined)[] = [];

const service: ServiceControl = {
  startedAt: Date.now(),
  status: () => [],
  trigger(remote?: string) {
    triggers.push(remote);
    return [];
  },
  sidecar: () => ({ role: 'single', leaderPresent: null, stateDatabase: null }),
  servers: () => [],
  recentPasses: async () => [],
};

/** The HTTP API's TLS settings as `run` gets them, with this allowlist and CRL. */
async function httpTls(allowlist: string, crl: string): Promise<HttpTlsConfig> {
  writeFileSync(join(dir, 'allowlist'), allowlist);
  const api = pki.cert('api');
  const text = `local.server_url: "http://127.0.0.1:8080"\nsync.remotes: [ { server_url: "http://127.0.0.1:8081" } ]\nhttp {
  ssl-cert: "${api.cert}", ssl-key: "${api.key}", ssl-ca-cert: "${pki.ca}", ssl-crl-path: "${crl}", certificate-allowlist: allowlist
}\n`;
  return (await parseConfig(text, join(dir, 'sync.conf'))).http.tls!;
}

/** A request to the API as the client with these files (none: no client certificate). */
const call = (method: 'GET' | 'POST', path: string, client?: CertFiles) => requestAs(pki, client, method, `${origin}${path}`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pdbsync-http-tls-'));
  pki = await makeTestPki(join(dir, 'pki'), {
    certs: [
      { name: 'api', altNames: ['IP:127.0.0.1'] },
      { name: 'monitor.example.net', altNames: ['DNS:monitor.example.net'] },
      { name: 'ops-laptop', altNames: ['DNS:Sync-Admin.example.net'] },
      { name: 'agent.example.net', altNames: ['DNS:agent.example.net'] },
      { name: 'revoked.example.net', altNames: ['DNS:revoked.example.net'] },
    ],
    revoked: ['revoked.example.net'],
  });
  guard = new ClientCertificateGuard(await httpTls('monitor.example.net\nsync-admin.example.net\nrevoked.example.net\n', pki.crl));
  app = buildHttpApi(service, new SyncMetrics({ processMetrics: false }), { startupGraceMs: 0, guard });
  origin = await app.listen({ host: '127.0.0.1', port: 0 });
}, 30_000);

afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTP API over https with a certificate allowlist', () => {
  it('answers a client whose certificate CN is on the list, on every route', async () => {
    expect(origin).toMatch(/^https:/);
    const monitor = pki.cert('monitor.example.net');
    expect(await call('GET', '/status', monitor)).toMatchObject({ status: 200 });
    expect(await call('GET', '/health', monitor)).toMatchObject({ status: 200 });
    expect(await call('POST', '/sync', monitor)).toMatchObject({ status: 202 });
  });

  it('answers a client named by a DNS subjectAltName, compared lower-cased', async () => {
    expect(await call('GET', '/status', pki.cert('ops-laptop'))).toMatchObject({ status: 200 });
  });

  it('refuses with 403, on every route, a certificate of the CA that is not on the list', async () => {
    const before = triggers.length;
    const agent = pki.cert('agent.example.net');
    for (const [method, path] of [['GET', '/status'], ['GET', '/health'], ['GET', '/metrics'], ['POST', '/sync']] as const) {
      const answer = await call(method, path, agent);
      expect(answer.status, path).toBe(403);
      expect(JSON.parse(answer.body)).toEqual({ error: 'the client certificate (agent.example.net) is not on http.certificate-allowlist' });
    }
    expect(triggers.length).toBe(before);
  });

  it('fails the TLS handshake without a client certificate, with one of another CA, or with a revoked one', async () => {
    await expect(call('GET', '/health')).rejects.toThrow();
    await expect(call('GET', '/health', { cert: pki.otherCa, key: join(pki.dir, 'other-ca.key') })).rejects.toThrow();
    await expect(call('GET', '/health', pki.cert('revoked.example.net'))).rejects.toThrow();
  });

  it('takes a new allowlist and CRL on reload (SIGHUP)', async () => {
    guard.reload(await httpTls('agent.example.net\nrevoked.example.net\n', pki.emptyCrl));
    expect(await call('GET', '/status', pki.cert('agent.example.net'))).toMatchObject({ status: 200 });
    expect(await call('GET', '/status', pki.cert('revoked.example.net'))).toMatchObject({ status: 200 });
    expect(await call('GET', '/status', pki.cert('monitor.example.net'))).toMatchObject({ status: 403 });
  });
});

describe('certificateNames', () => {
  it('is the CN and the DNS subjectAltNames, lower-cased, without IP addresses or duplicates', () => {
    expect(certificateNames({ subject: { CN: 'Pdb1.Example.NET' } as never, subjectaltname: 'DNS:pdb1.example.net, DNS:puppetdb, IP Address:10.0.0.1' })).toEqual([
      'pdb1.example.net',
      'puppetdb',
    ]);
    expect(certificateNames({})).toEqual([]);
  });
});
