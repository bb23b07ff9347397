import { errors as undiciErrors } from 'undici';
import { SyncError } from '../errors.ts';

/**
 * How long a PuppetDB server may take, all from sync.request-timeout (T). undici's
 * own timeouts (connect, headers, body) only bound silences: a server that sends a
 * byte now and then would hold a request forever. So:
 *
 * - every request is connected, sent and answered (status and headers) within T in all;
 * - a `bounded` response (a record, a command's answer, the status) is read whole
 *   within T of sending the request;
 * - a `streamed` response (summaries, changes, lookups) is read at the pace of the
 *   transfers, for as long as its entity takes, so no total fits it: no silence
 *   longer than T while the sync waits for data, and at least MIN_BYTES_PER_SECOND
 *   over each T the sync spends waiting for data. The time the sync spends on its own
 *   work, with the server held back, does not count.
 */
export type ResponseKind = 'bounded' | 'streamed';

/**
 * Below this a server is not answering: PuppetDB streams summaries at megabytes a
 * second, a trickle slower than this is a server that has stopped (or a hostile one).
 */
export const MIN_BYTES_PER_SECOND = 1024;

/**
 * The total deadline of one request. When it passes, a server that sent at least
 * MIN_BYTES_PER_SECOND on average was still sending a large response
 * (PDBSYNC_ERR_HTTP_DEADLINE: that request fails alone); one that sent less is not
 * answering (PDBSYNC_ERR_HTTP_TIMEOUT, which the circuit breaker counts).
 */
export class Deadline {
  /** Response bytes received so far. */
  bytes = 0;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(timeoutMs: number, what: string) {
    this.timer = setTimeout(() => this.controller.abort(this.expired(timeoutMs, what)), timeoutMs);
  }

  /** Aborted when the deadline passes, with the error as its reason. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  clear(): void {
    clearTimeout(this.timer);
  }

  private expired(timeoutMs: number, what: string): SyncError {
    const received = `${this.bytes} bytes received in ${timeoutMs} ms (sync.request-timeout)`;
    return this.bytes >= (MIN_BYTES_PER_SECOND * timeoutMs) / 1000
      ? new SyncError('PDBSYNC_ERR_HTTP_DEADLINE', `${what}: ${received}, and more to come`)
      : new SyncError('PDBSYNC_ERR_HTTP_TIMEOUT', `${what}: ${received}`);
  }
}

/** The rate rule of a streamed response, on the time spent waiting for the server only. */
export class ThroughputWindow {
  private readonly windowMs: number;
  private readonly what: string;
  private waitedMs = 0;
  private bytes = 0;

  constructor(windowMs: number, what: string) {
    this.windowMs = windowMs;
    this.what = what;
  }

  /** A chunk of `bytes` that took `waitedMs` to arrive once asked for; throws PDBSYNC_ERR_HTTP_TIMEOUT for a trickle. */
  add(waitedMs: number, bytes: number): void {
    this.waitedMs += waitedMs;
    this.bytes += bytes;
    if (this.waitedMs < this.windowMs) return;
    if (this.bytes < (MIN_BYTES_PER_SECOND * this.waitedMs) / 1000) {
      throw new SyncError('PDBSYNC_ERR_HTTP_TIMEOUT', `${this.what}: ${this.bytes} bytes in ${Math.round(this.waitedMs)} ms of waiting, less than ${MIN_BYTES_PER_SECOND} bytes a second`);
    }
    this.waitedMs = 0;
    this.bytes = 0;
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Node's codes for a server certificate that fails verification: OpenSSL's
 * X509_V_ERR names, and the host name check.
 */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECRYPT_CRL_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE', 'CRL_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED', 'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED',
  'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Any failure of the connection, before or during the response, as a coded error:
 * a SyncError (a deadline, the breaker) as it is; undici's idle timeouts as
 * PDBSYNC_ERR_HTTP_TIMEOUT; a server certificate refused as PDBSYNC_ERR_HTTP_TLS
 * (the server answers; it is not down); anything else (refused, reset, closed
 * mid-response, a handshake the server ended) as PDBSYNC_ERR_HTTP_CONNECT.
 */
export function transportError(error: unknown, what: string): SyncError {
  if (error instanceof SyncError) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = `${what}: ${(error as Error).message}`;
  if (TIMEOUT_CODES.has(code) || error instanceof undiciErrors.HeadersTimeoutError || error instanceof undiciErrors.BodyTimeoutError) {
    return new SyncError('PDBSYNC_ERR_HTTP_TIMEOUT', `${message} (nothing for sync.request-timeout)`, { cause: error });
  }
  if (CERTIFICATE_CODES.has(code)) return new SyncError('PDBSYNC_ERR_HTTP_TLS', `${message} (${code})`, { cause: error });
  return new SyncError('PDBSYNC_ERR_HTTP_CONNECT', message, { cause: error });
}
