/**
 * The options that name TLS files: the client certificate for https servers (`tls`)
 * and the HTTP API's own TLS listener (`http.ssl-*`). Both use the names of
 * PuppetDB's [jetty] settings, so an operator copies the paths from there.
 * schema.ts puts them in OPTIONS; tls-files.ts reads and checks the files.
 */

import type { OptionSpec } from './schema.ts';

export const TLS_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'tls',
    type: { kind: 'object' },
    required: false,
    doc: 'Client certificate for https servers; leave the block out for plain http.',
  },
  {
    key: 'tls.ssl-cert',
    type: { kind: 'path' },
    required: true,
    doc: 'PEM client certificate, e.g. the Puppet agent\'s certs/<certname>.pem; relative paths are from the config file\'s directory.',
  },
  {
    key: 'tls.ssl-key',
    type: { kind: 'path' },
    required: true,
    doc: 'PEM private key of that certificate; relative paths are from the config file\'s directory.',
  },
  {
    key: 'tls.ssl-ca-cert',
    type: { kind: 'path' },
    required: true,
    doc: 'PEM CA certificate(s) the servers\' certificates are checked against; relative paths are from the config file\'s directory.',
  },
  {
    key: 'tls.ssl-crl-path',
    type: { kind: 'path' },
    required: false,
    doc: 'PEM CRL(s) of that CA, e.g. Puppet\'s ssl/crl.pem: a server whose certificate it revokes is refused. It must hold a CRL of every CA of the chain, as Puppet\'s does; read again on SIGHUP.',
  },
];

/**
 * Given together, ssl-crl-path aside; the allowlist too, since every node of a
 * Puppet CA has a certificate the CA signed.
 */
export const HTTP_TLS_OPTIONS: readonly OptionSpec[] = [
  {
    key: 'http.ssl-cert',
    type: { kind: 'path' },
    required: false,
    requiredWith: ['ssl-key', 'ssl-ca-cert', 'ssl-crl-path', 'certificate-allowlist'],
    doc: 'PEM certificate of the HTTP API: with it the API serves https only, and every client must present a certificate signed by http.ssl-ca-cert.',
  },
  {
    key: 'http.ssl-key',
    type: { kind: 'path' },
    required: false,
    requiredWith: ['ssl-cert'],
    doc: 'PEM private key of http.ssl-cert.',
  },
  {
    key: 'http.ssl-ca-cert',
    type: { kind: 'path' },
    required: false,
    requiredWith: ['ssl-cert'],
    doc: 'PEM CA certificate(s) that must have signed a client\'s certificate; a client without one fails the TLS handshake.',
  },
  {
    key: 'http.ssl-crl-path',
    type: { kind: 'path' },
    required: false,
    doc: 'PEM CRL(s) of that CA: a client whose certificate it revokes fails the TLS handshake; read again on SIGHUP.',
  },
  {
    key: 'http.certificate-allowlist',
    type: { kind: 'path' },
    required: false,
    requiredWith: ['ssl-cert'],
    doc: 'File of certnames, one a line, as PuppetDB\'s certificate-allowlist: a client whose certificate has none of them as CN or DNS subjectAltName gets 403 on every route; read again on SIGHUP.',
  },
];
