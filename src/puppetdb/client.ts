import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { TlsConfig } from '../config/types.ts';
import { SyncError } from '../errors.ts';
import { commandOutcome, type SerializedCommand } from './command.ts';
import { Deadline, ThroughputWindow, transportError, type ResponseKind } from './deadline.ts';
import { streamJsonArray } from './json-stream.ts';
import { CircuitBreaker, DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from './retry.ts';
import { RecentlyApplied } from './recently-applied.ts';
import { SubmitGuard } from './submit-guard.ts';

/** sync.report-settle's default. */
const DEFAULT_REPORT_SETTLE_MS = 120_000;
import { adaptQuery, needsTraits, serverVersion, type ServerVersion } from './versions.ts';

/** A query for POST /pdb/query/v4: the AST plus options such as include_package_inventory. */
export interface QuerySpec {
  readonly query: unknown;
  readonly options?: Readonly<Record<string, unknown>>;
}

export interface ClientOptions {
  /** sync.request-timeout: every deadline of a request derives from it (src/puppetdb/deadline.ts). */
  readonly timeoutMs: number;
  readonly tls?: TlsConfig | undefined;
  readonly connections?: number;
  readonly retry?: RetryPolicy;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Every request that failed, retried or not (the failed-request metric). */
  readonly onRequestFailed?: (error: unknown) => void;
  /** sync.report-settle: how long after its producer time another copy of a report may reach the server (SubmitGuard). */
  readonly reportSettleMs?: number;
  /** Told the server's version once it is learned (logged). */
  readonly onVersion?: (learned: ServerVersion) => void;
}

interface Response {
  readonly statusCode: number;
  /** The body's chunks under the response's deadlines; failures come out coded. */
  readonly body: AsyncIterable<Buffer>;
}

/**
 * One PuppetDB server: one undici Pool, deadlines on every request, retries in
 * withRetry only, and the server's circuit breaker.
 */
export class PuppetDbClient {
  readonly url: string;
  /** Open once the server is found down; each pass resets it at its start. */
  readonly breaker: CircuitBreaker;
  private pool: Pool;
  private readonly options: ClientOptions;
  /** Failures already reported, so that each counts once however far it travels. */
  private readonly reported = new WeakSet<object>();
  private readonly givenUp = new AbortController();
  private readonly guard: SubmitGuard;
  private readonly applied = new RecentlyApplied();
  /** The server's version, once learned; a failure to learn it is not kept. */
  private learned: Promise<ServerVersion> | undefined;
  /** The server's version, once `version()` has learned it (for /status, which does not wait). */
  knownVersion: ServerVersion | undefined;

  constructor(url: string, options: ClientOptions) {
    this.url = url;
    this.options = options;
    this.breaker = new CircuitBreaker(url);
    this.guard = new SubmitGuard(this, options.reportSettleMs ?? DEFAULT_REPORT_SETTLE_MS);
    this.pool = this.newPool(options.tls);
  }

  /**
   * New requests use `tls` from now on (on SIGHUP: the CA's new CRL, a renewed
   * certificate); requests in flight finish on the old connections, which then close.
   */
  useTls(tls: TlsConfig | undefined): void {
    const old = this.pool;
    this.pool = this.newPool(tls);
    void old.close().catch(() => {});
  }

  private newPool(tls: TlsConfig | undefined): Pool {
    return new Pool(this.url, {
      connections: this.options.connections ?? 8,
      // Silences; the totals and the rate are Deadline's and ThroughputWindow's.
      headersTimeout: this.options.timeoutMs,
      bodyTimeout: this.options.timeoutMs,
      // The server's name is checked against the URL's host, as Node does by default.
      connect: {
        timeout: this.options.timeoutMs,
        ...(tls && { ca: tls.pem.ca, cert: tls.pem.cert, key: tls.pem.key }),
        ...(tls && tls.pem.crls.length > 0 && { crl: [...tls.pem.crls] }),
      },
    });
  }

  /**
   * Streams the rows of a summary or lookup, read at the caller's pace (the streamed
   * deadlines); a failure before the first row is retried, one mid-stream is not.
   */
  query(spec: QuerySpec): AsyncGenerator<unknown> {
    return this.rows(spec, 'streamed');
  }

  /**
   * Streams the rows of a record, read whole at once: the whole response within the
   * request's deadline, and no more than `maxBytes` (PDBSYNC_ERR_RECORD_TOO_LARGE).
   */
  queryRecord(spec: QuerySpec, maxBytes: number): AsyncGenerator<unknown> {
    return this.rows(spec, 'bounded', maxBytes);
  }

  /**
   * Submits a command and waits up to `waitSeconds` for PuppetDB to apply it
   * (secondsToWaitForCompletion). Resolves with its uuid only when PuppetDB answers
   * that it applied it: the sync then counts it, knows it took effect before it reads
   * local state again, and the waiting bounds how much it queues. Otherwise throws:
   * PDBSYNC_ERR_COMMAND_FAILED (PuppetDB's error), PDBSYNC_ERR_COMMAND_UNCONFIRMED
   * (the wait ended first), or the HTTP error of a refused submission. It is sent once
   * SubmitGuard admits it: never beside another submission of the same record; and not
   * at all when the server applied the same bytes for this process lately
   * (RecentlyApplied): it resolves with that submission's uuid.
   */
  async submit(command: SerializedCommand, waitSeconds: number, signal?: AbortSignal): Promise<string> {
    const params = new URLSearchParams({
      command: command.command,
      version: String(command.version),
      certname: command.certname,
      'producer-timestamp': command.producerTimestamp,
      secondsToWaitForCompletion: String(waitSeconds),
    });
    const what = `${command.command} for ${command.certname} on ${this.url}`;
    const done = await this.guard.admit(command, signal);
    try {
      // Admitted after another submission of the same record ended: it may have applied these very bytes.
      const key = RecentlyApplied.key(command);
      const earlier = this.applied.uuidOf(key);
      if (earlier !== undefined) return earlier;
      const uuid = await this.retrying(async () => {
        const response = await this.send('POST', `/pdb/cmd/v1?${params}`, 'bounded', command.body);
        const text = await readText(response.body);
        const applied = commandOutcome(response.statusCode, text, what, waitSeconds);
        if (applied === undefined) throw statusError(response.statusCode, what, text);
        return applied;
      }, signal);
      this.applied.remember(key, uuid);
      return uuid;
    } finally {
      done();
    }
  }

  /** Commands waiting in the server's queue. */
  async queueDepth(): Promise<number> {
    const text = await this.retrying(async () => readText((await this.expectOk(await this.send('GET', '/status/v1/services/puppetdb-status', 'bounded'), 'status')).body));
    let depth: unknown;
    try {
      depth = (JSON.parse(text) as { status?: { queue_depth?: unknown } } | null)?.status?.queue_depth;
    } catch {
      // Reported below as the status it is not.
    }
    if (typeof depth !== 'number') {
      throw new SyncError('PDBSYNC_ERR_RESPONSE_MALFORMED', `status of ${this.url} has no queue_depth: ${text.slice(0, 200)}`);
    }
    return depth;
  }

  /**
   * The server's version and what it implies (versions.ts), asked once: the version of
   * a running server does not change under one connection pool's life. A server that
   * does not answer the question (4xx) is of an unknown version.
   */
  version(): Promise<ServerVersion> {
    this.learned ??= this.retrying(async () => {
      const response = await this.send('GET', '/pdb/meta/v1/version', 'bounded');
      if (response.statusCode >= 500) await this.expectOk(response, 'version');
      const text = await readText(response.body);
      const learned = serverVersion(response.statusCode === 200 ? versionIn(text) : null);
      this.knownVersion = learned;
      this.options.onVersion?.(learned);
      return learned;
    }).catch((error: unknown) => {
      this.learned = undefined;
      throw error;
    });
    return this.learned;
  }

  /** Waits for the requests in flight, then closes the connections. */
  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Fails the requests in flight, and any later one, at once with PDBSYNC_ERR_STOPPED: a stop whose grace ran out. */
  giveUp(): void {
    this.givenUp.abort(new SyncError('PDBSYNC_ERR_STOPPED', `requests to ${this.url} given up: the stop's grace ran out`));
  }

  private async *rows(asked: QuerySpec, kind: ResponseKind, maxBytes?: number): AsyncGenerator<unknown> {
    const spec = needsTraits(asked) ? adaptQuery(asked, (await this.version()).traits) : asked;
    const body = JSON.stringify({ ...spec.options, query: spec.query });
    const response = await this.retrying(async () => this.expectOk(await this.send('POST', '/pdb/query/v4', kind, body), 'query'));
    yield* streamJsonArray(response.body, `query ${describeQuery(spec)} on ${this.url}`, maxBytes);
  }

  private retrying<T>(operation: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const reported = () => operation().catch((error: unknown) => Promise.reject(this.failed(error)));
    return withRetry(reported, this.options.retry ?? DEFAULT_RETRY_POLICY, {
      breaker: this.breaker,
      signal: signal ? AbortSignal.any([signal, this.givenUp.signal]) : this.givenUp.signal,
      ...(this.options.onRetry && { onRetry: this.options.onRetry }),
    });
  }

  /** Reports a failed attempt, once: the failed-request metric and the circuit breaker. */
  private failed(error: unknown): unknown {
    if (typeof error === 'object' && error !== null && !this.reported.has(error)) {
      this.reported.add(error);
      this.options.onRequestFailed?.(error);
      this.breaker.failed(error);
    }
    return error;
  }

  private async send(method: 'GET' | 'POST', path: string, kind: ResponseKind, body?: string | readonly Buffer[]): Promise<Response> {
    const what = `${method} ${path.split('?')[0]} on ${this.url}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (Array.isArray(body)) headers['content-length'] = String(body.reduce((bytes: number, chunk: Buffer) => bytes + chunk.length, 0));
    const deadline = new Deadline(this.options.timeoutMs, what);
    let response: { statusCode: number; body: AsyncIterable<Buffer> };
    try {
      response = await this.pool.request({
        method,
        path,
        // A new stream for each attempt: the chunks are sent again on a retry.
        body: typeof body === 'string' || body === undefined ? body : Readable.from(body, { objectMode: false }),
        headers,
        signal: AbortSignal.any([deadline.signal, this.breaker.signal, this.givenUp.signal]),
      });
    } catch (error) {
      deadline.clear();
      throw this.failed(transportError(error, what));
    }
    // A streamed response has had its answer in time; its body has its own rules.
    if (kind === 'streamed') deadline.clear();
    return { statusCode: response.statusCode, body: this.guarded(response.body, kind, deadline, what) };
  }

  /**
   * The body's chunks, counted for the deadline, held to the streamed rate rule, and
   * with every failure coded and reported; a whole body tells the breaker the server
   * answers.
   */
  private async *guarded(body: AsyncIterable<Buffer>, kind: ResponseKind, deadline: Deadline, what: string): AsyncGenerator<Buffer> {
    const rate = kind === 'streamed' ? new ThroughputWindow(this.options.timeoutMs, what) : undefined;
    try {
      let asked = performance.now();
      for await (const chunk of body) {
        deadline.bytes += chunk.length;
        rate?.add(performance.now() - asked, chunk.length);
        yield chunk;
        asked = performance.now();
      }
      this.breaker.succeeded();
    } catch (error) {
      throw this.failed(transportError(error, what));
    } finally {
      deadline.clear();
    }
  }

  private async expectOk(response: Response, what: string): Promise<Response> {
    if (response.statusCode === 200) return response;
    const text = await readText(response.body).catch(() => '');
    throw statusError(response.statusCode, `${what} on ${this.url}`, text);
  }
}

/** The version in /pdb/meta/v1/version's answer, `{"version": "8.8.1"}`; null when there is none. */
function versionIn(text: string): string | null {
  try {
    const version = (JSON.parse(text) as { version?: unknown } | null)?.version;
    return typeof version === 'string' && version.trim() !== '' ? version : null;
  } catch {
    return null;
  }
}

async function readText(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function statusError(statusCode: number, what: string, body: string): SyncError {
  const detail = `${what}: HTTP ${statusCode}: ${body.slice(0, 300).replace(/\s+/g, ' ')}`;
  if (statusCode === 503) return new SyncError('PDBSYNC_ERR_HTTP_UNAVAILABLE', detail);
  if (statusCode >= 500) return new SyncError('PDBSYNC_ERR_HTTP_SERVER', detail);
  return new SyncError('PDBSYNC_ERR_HTTP_REJECTED', detail);
}

/** Short enough for a log line, exact enough to rerun by hand. */
export function describeQuery(spec: QuerySpec): string {
  return JSON.stringify(spec.query);
}
