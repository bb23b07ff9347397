import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Pool, errors as undiciErrors } from 'undici';
import type { TlsConfig } from '../config/types.ts';
import { SyncError } from '../errors.ts';
import { commandOutcome, type SerializedCommand } from './command.ts';
import { streamJsonArray } from './json-stream.ts';
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from './retry.ts';

/** A query for POST /pdb/query/v4: the AST plus options such as include_package_inventory. */
export interface QuerySpec {
  readonly query: unknown;
  readonly options?: Readonly<Record<string, unknown>>;
  /** The response fails with PDBSYNC_ERR_RECORD_TOO_LARGE past this many bytes. */
  readonly maxBytes?: number;
}

export interface ClientOptions {
  readonly timeoutMs: number;
  readonly tls?: TlsConfig | undefined;
  readonly connections?: number;
  readonly retry?: RetryPolicy;
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Every request that failed, retried or not (the failed-request metric). */
  readonly onRequestFailed?: (error: unknown) => void;
}

interface Response {
  readonly statusCode: number;
  readonly body: Readable & { text(): Promise<string>; dump(): Promise<void> };
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** One PuppetDB server: one undici Pool, a timeout on every request, retries in withRetry only. */
export class PuppetDbClient {
  readonly url: string;
  private readonly pool: Pool;
  private readonly options: ClientOptions;

  constructor(url: string, options: ClientOptions) {
    this.url = url;
    this.options = options;
    const tls = options.tls;
    this.pool = new Pool(url, {
      connections: options.connections ?? 8,
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connect: {
        timeout: options.timeoutMs,
        ...(tls && { ca: readFileSync(tls.caFile), cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }),
      },
    });
  }

  /** Streams the rows of a query; a failure before the first row is retried, one mid-stream is not. */
  async *query(spec: QuerySpec): AsyncGenerator<unknown> {
    const body = JSON.stringify({ ...spec.options, query: spec.query });
    const response = await this.retrying(() =>
      this.send('POST', '/pdb/query/v4', body).then((r) => this.expectOk(r, 'query')),
    );
    yield* streamJsonArray(response.body, `query ${describeQuery(spec)} on ${this.url}`, spec.maxBytes);
  }

  /**
   * Submits a command and waits up to `waitSeconds` for PuppetDB to apply it
   * (secondsToWaitForCompletion). Resolves with its uuid only when PuppetDB answers
   * that it applied it: the sync then counts it, knows it took effect before it reads
   * local state again, and the waiting bounds how much it queues. Otherwise throws:
   * PDBSYNC_ERR_COMMAND_FAILED (PuppetDB's error), PDBSYNC_ERR_COMMAND_UNCONFIRMED
   * (the wait ended first), or the HTTP error of a refused submission.
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
    return this.retrying(async () => {
      const response = await this.send('POST', `/pdb/cmd/v1?${params}`, command.body);
      const text = await response.body.text();
      const uuid = commandOutcome(response.statusCode, text, what, waitSeconds);
      if (uuid === undefined) throw statusError(response.statusCode, what, text);
      return uuid;
    }, signal);
  }

  /** Commands waiting in the server's queue. */
  async queueDepth(): Promise<number> {
    const response = await this.retrying(() =>
      this.send('GET', '/status/v1/services/puppetdb-status').then((r) => this.expectOk(r, 'status')),
    );
    const status = JSON.parse(await response.body.text()) as { status?: { queue_depth?: unknown } };
    const depth = status.status?.queue_depth;
    if (typeof depth !== 'number') {
      throw new SyncError('PDBSYNC_ERR_RESPONSE_MALFORMED', `status of ${this.url} has no queue_depth`);
    }
    return depth;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private retrying<T>(operation: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const counted = this.options.onRequestFailed
      ? () =>
          operation().catch((error: unknown) => {
            this.options.onRequestFailed!(error);
            throw error;
          })
      : operation;
    return withRetry(counted, this.options.retry ?? DEFAULT_RETRY_POLICY, this.options.onRetry, signal);
  }

  private async send(method: 'GET' | 'POST', path: string, body?: string | readonly Buffer[]): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (Array.isArray(body)) headers['content-length'] = String(body.reduce((bytes: number, chunk: Buffer) => bytes + chunk.length, 0));
    try {
      return (await this.pool.request({
        method,
        path,
        // A new stream for each attempt: the chunks are sent again on a retry.
        body: typeof body === 'string' || body === undefined ? body : Readable.from(body, { objectMode: false }),
        headers,
      })) as unknown as Response;
    } catch (error) {
      throw transportError(error, `${method} ${path.split('?')[0]} on ${this.url}`);
    }
  }

  private async expectOk(response: Response, what: string): Promise<Response> {
    if (response.statusCode === 200) return response;
    const text = await response.body.text().catch(() => '');
    throw statusError(response.statusCode, `${what} on ${this.url}`, text);
  }
}

function statusError(statusCode: number, what: string, body: string): SyncError {
  const detail = `${what}: HTTP ${statusCode}: ${body.slice(0, 300).replace(/\s+/g, ' ')}`;
  if (statusCode === 503) return new SyncError('PDBSYNC_ERR_HTTP_UNAVAILABLE', detail);
  if (statusCode >= 500) return new SyncError('PDBSYNC_ERR_HTTP_SERVER', detail);
  return new SyncError('PDBSYNC_ERR_HTTP_REJECTED', detail);
}

function transportError(error: unknown, what: string): SyncError {
  const code = (error as { code?: string }).code ?? '';
  const message = `${what}: ${(error as Error).message}`;
  if (TIMEOUT_CODES.has(code) || error instanceof undiciErrors.HeadersTimeoutError) {
    return new SyncError('PDBSYNC_ERR_HTTP_TIMEOUT', message, { cause: error });
  }
  return new SyncError('PDBSYNC_ERR_HTTP_CONNECT', message, { cause: error });
}

/** Short enough for a log line, exact enough to rerun by hand. */
export function describeQuery(spec: QuerySpec): string {
  return JSON.stringify(spec.query);
}
