import type { ServerOptions } from 'node:https';
import type { PeerCertificate, SecureContextOptions, Server as TlsServer, TLSSocket } from 'node:tls';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpTlsConfig } from '../config/types.ts';
import type { ErrorBody } from './http.ts';

/**
 * The HTTP API over https, guarded as PuppetDB guards its own API: the TLS handshake
 * needs a client certificate signed by http.ssl-ca-cert (and not revoked by
 * http.ssl-crl-path), and a request is answered only when that certificate names a
 * certname of http.certificate-allowlist. Every route is guarded, /health too: the
 * handshake already needs a certificate, and every node of a Puppet CA has one, so
 * an open /health would open it to the whole fleet without sparing a monitor its
 * certificate (put the monitor's certname on the list).
 */
export class ClientCertificateGuard {
  /** Fastify's `https` option. */
  readonly serverOptions: ServerOptions;
  private allowed: ReadonlySet<string>;
  private server: TlsServer | undefined;

  constructor(tls: HttpTlsConfig) {
    this.serverOptions = { ...secureContextOptions(tls), requestCert: true, rejectUnauthorized: true };
    this.allowed = allowSet(tls);
  }

  /** Guards `app`, made with serverOptions as its `https` option. */
  guard(app: FastifyInstance): void {
    // Fastify types its server as http's, but the https option made it a TLS server.
    this.server = app.server as unknown as TlsServer;
    app.addHook('onRequest', this.check);
  }

  /** SIGHUP: new handshakes use the files as read now, and requests the new allowlist. */
  reload(tls: HttpTlsConfig): void {
    this.server?.setSecureContext(secureContextOptions(tls));
    this.allowed = allowSet(tls);
  }

  /** 403 for a certificate that names no allowed certname. */
  private readonly check = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const names = certificateNames((request.raw.socket as TLSSocket).getPeerCertificate());
    if (names.some((name) => this.allowed.has(name))) return undefined;
    const shown = names.length > 0 ? names.join(', ') : 'no name';
    return reply.code(403).send({ error: `the client certificate (${shown}) is not on http.certificate-allowlist` } satisfies ErrorBody);
  };
}

function secureContextOptions(tls: HttpTlsConfig): SecureContextOptions {
  const { cert, key, ca, crls } = tls.pem;
  return { cert, key, ca, ...(crls.length > 0 && { crl: [...crls] }) };
}

/** Certnames compared lower-cased, as host names are. */
function allowSet(tls: HttpTlsConfig): ReadonlySet<string> {
  return new Set(tls.allowlist.map((name) => name.toLowerCase()));
}

/** The names a client certificate answers to: its CN and DNS subjectAltNames, lower-cased. */
export function certificateNames(cert: Partial<Pick<PeerCertificate, 'subject' | 'subjectaltname'>>): string[] {
  const cn = cert.subject?.CN;
  const cns = cn === undefined ? [] : Array.isArray(cn) ? cn : [cn];
  const dns = (cert.subjectaltname ?? '')
    .split(', ')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => entry.slice(4));
  return [...new Set([...cns, ...dns].map((name) => name.toLowerCase()))];
}
