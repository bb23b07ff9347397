import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ALLOWED_CLIENT, STRANGER_CLIENT } from '../../scripts/cluster-tls.ts';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { requestAs, testPkiAt, type TestPki } from '../../scripts/test-pki.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log.ts';
import { measureDivergence } from '../../src/sync/divergence.ts';
import { besidesProgress, eventually, freePort, iso, query, runCli, startCli, submit, transferredWithPrefix, writeConfig, type RunResult, type Sidecar } from './pdb.ts';

// The shared cluster serves https too (global-setup.ts, scripts/cluster-tls.ts): every
// server has a certificate for 127.0.0.1 (not localhost), PuppetDB's allowlist names
// ALLOWED_CLIENT only, and the test CA's CRL revokes the last server's certificate.
const https = inject('pdbHttps');
const servers = inject('pdbServers');
const [localHttp, remoteHttp] = [servers[0]!, servers.at(-1)!];
const prefix = `tls-${Date.now().toString(36)}`;
let pki: TestPki;
let localHttps: string;
/** The server whose certificate the CRL revokes. */
let remoteHttps: string;

beforeAll(() => {
  if (!https) throw new Error('the reused cluster serves no https: start it with `npm run cluster -- start --https` and set PDBSYNC_TEST_HTTPS_URLS and PDBSYNC_TEST_PKI');
  pki = testPkiAt(https.pkiDir);
  [localHttps, remoteHttps] = [https.urls[0]!, https.urls.at(-1)!];
});

/** The `tls` block: `client`'s certificate, the test CA (or `ca`), the CRL `crl` if given. */
function tlsBlock(client = ALLOWED_CLIENT, { ca = pki.ca, crl }: { ca?: string; crl?: string } = {}): string {
  const { cert, key } = pki.cert(client);
  return `tls: {\n  ssl-cert: "${cert}"\n  ssl-key: "${key}"\n  ssl-ca-cert: "${ca}"\n${crl ? `  ssl-crl-path: "${crl}"\n` : ''}}\n`;
}

function once(local: string, remote: string, tls: string): Promise<RunResult> {
  return runCli(['once', '--config', writeConfig(local, [remote], '', { outside: tls }), '--log-level', 'debug']);
}

/** The error of the pass: its sync/error line's `err`. */
function passError(logs: Record<string, unknown>[]): { code?: string; message?: string } | undefined {
  return logs.find((line) => line.phase === 'sync' && line.sync_event === 'error')?.err as { code?: string; message?: string } | undefined;
}

const retried = (result: RunResult) => result.logs.some((line) => line.message === 'request failed, retrying');

describe('the sidecar as a client of PuppetDB over https', () => {
  it('syncs a record between two servers over https', async () => {
    await submit(remoteHttp, 'replace_facts', 5, {
      certname: `${prefix}-over-https`,
      environment: 'production',
      producer_timestamp: iso(Date.now() - 60_000),
      producer: 'puppet.example.net',
      values: { transport: 'https' },
    });
    await waitForQueueDrained(remoteHttp);
    const result = await once(localHttps, remoteHttps, tlsBlock());
    expect(besidesProgress(result.stderr)).toBe('');
    expect(result.code).toBe(0);
    expect(transferredWithPrefix(result, prefix)).toEqual({ facts: 1 });
    await waitForQueueDrained(localHttp);
    expect(await query(localHttp, ['from', 'factsets', ['extract', ['certname'], ['=', 'certname', `${prefix}-over-https`]]])).toHaveLength(1);
  });

  const refusals: Array<[string, () => Promise<RunResult>, string, RegExp]> = [
    ['a server certificate of another CA', () => once(localHttp, remoteHttps, tlsBlock(ALLOWED_CLIENT, { ca: pki.otherCa })), 'PDBSYNC_ERR_HTTP_TLS', /\((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/],
    ['a server reached by a name its certificate does not carry', () => once(localHttp, remoteHttps.replace('127.0.0.1', 'localhost'), tlsBlock()), 'PDBSYNC_ERR_HTTP_TLS', /Host: localhost\. is not in the cert's altnames.*\(ERR_TLS_CERT_ALTNAME_INVALID\)/],
    ['a client certificate not on PuppetDB\'s certificate-allowlist', () => once(localHttp, remoteHttps, tlsBlock(STRANGER_CLIENT)), 'PDBSYNC_ERR_HTTP_REJECTED', /HTTP 403: .*The client certificate name stranger\.example\.net doesn.?t appear in the certificate allowlist/],
    ['a revoked server certificate, with ssl-crl-path', () => once(localHttps, remoteHttps, tlsBlock(ALLOWED_CLIENT, { crl: pki.crl })), 'PDBSYNC_ERR_HTTP_TLS', /certificate revoked \(CERT_REVOKED\)/],
  ];
  it.each(refusals)('refuses %s at once, with a coded error, and exits 1', async (_name, run, code, says) => {
    const result = await run();
    expect(besidesProgress(result.stderr)).toBe('');
    expect(result.code).toBe(1);
    expect(passError(result.logs)).toMatchObject({ code, message: expect.stringMatching(says) });
    expect(retried(result)).toBe(false);
  });

  it('accepts, with the same CRL, a server whose certificate it does not revoke', async () => {
    // Read-only (diff), so that no data moves into the server whose certificate is revoked.
    const config = await loadConfig(writeConfig(remoteHttp, [localHttps], '', { outside: tlsBlock(ALLOWED_CLIENT, { crl: pki.crl }) }));
    const report = await measureDivergence(config, createLogger('fatal'));
    expect(report.remotes[0]!.entities.filter((entity) => 'error' in entity)).toEqual([]);
  });
});

describe('run: the HTTP API over https, and a new CRL on SIGHUP', () => {
  let sidecar: Sidecar;
  let api: string;
  let crl: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdbsync-tls-'));
    crl = join(dir, 'crl.pem');
    copyFileSync(pki.emptyCrl, crl);
    writeFileSync(join(dir, 'allowlist'), `${ALLOWED_CLIENT}\n`);
    const port = await freePort();
    api = `https://127.0.0.1:${port}`;
    // The API serves the sidecar's own certificate, as a Puppet agent's would be.
    const own = pki.cert(ALLOWED_CLIENT);
    const http = `http: {\n  port: ${port}\n  ssl-cert: "${own.cert}"\n  ssl-key: "${own.key}"\n  ssl-ca-cert: "${pki.ca}"\n  certificate-allowlist: "${join(dir, 'allowlist')}"\n}\n`;
    const config = writeConfig(localHttps, [remoteHttps], '', { interval: '10m', outside: tlsBlock(ALLOWED_CLIENT, { crl }) + http });
    sidecar = startCli(['run', '--config', config]);
    // The start reconciliation, and the first incremental pass that starts beside it.
    await eventually(() => ['reconcile', 'incremental'].every((kind) => passes().some((line) => line.kind === kind)), 120_000, 'the first passes');
  });

  afterAll(async () => {
    sidecar?.signal('SIGTERM');
    expect(await sidecar?.exited).toBe(0);
  });

  const passes = () => sidecar.logs.filter((line) => line.phase === 'sync' && line.sync_event !== 'start');

  it('answers a client on its allowlist, 403 to another client of the CA, and no client without a certificate', async () => {
    expect(passes()).toEqual([expect.objectContaining({ sync_event: 'finished', ok: true }), expect.objectContaining({ sync_event: 'finished', ok: true })]);
    const status = await requestAs(pki, pki.cert(ALLOWED_CLIENT), 'GET', `${api}/status`);
    expect(status.status).toBe(200);
    expect(JSON.parse(status.body)).toMatchObject({ remotes: [{ remote: remoteHttps, lastPass: { ok: true } }] });
    const stranger = await requestAs(pki, pki.cert(STRANGER_CLIENT), 'POST', `${api}/sync`);
    expect(stranger).toEqual({ status: 403, body: JSON.stringify({ error: `the client certificate (${STRANGER_CLIENT}) is not on http.certificate-allowlist` }) });
    await expect(requestAs(pki, undefined, 'GET', `${api}/health`)).rejects.toThrow();
    expect(passes()).toHaveLength(2);
  });

  it('refuses the revoked server once the CA\'s new CRL is in place and SIGHUP sent', async () => {
    copyFileSync(pki.crl, crl);
    sidecar.signal('SIGHUP');
    await eventually(() => sidecar.logs.some((line) => line.message === 'configuration reload: new TLS files in use'), 30_000, 'the TLS files reloaded');
    const triggered = await requestAs(pki, pki.cert(ALLOWED_CLIENT), 'POST', `${api}/sync`);
    expect(triggered.status).toBe(202);
    await eventually(() => passes().length > 2, 60_000, 'a pass after the new CRL');
    expect(passError(passes().slice(2))).toMatchObject({ code: 'PDBSYNC_ERR_HTTP_TLS', message: expect.stringContaining('CERT_REVOKED') });
  });
});
