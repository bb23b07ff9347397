import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { Pool, errors as undiciErrors } from 'undici';
import type { TlsConfig } from '../config/types.ts';
import { SyncError } from '../errors.ts';
import { streamJsonArray } from './json-stream.ts';
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from './retry.ts';

/** A query for POST /pdb/query/v4: the AST plus options such as include_package_inventory. */
export interface QuerySpec {
  readonly query: unknown;
  readonly options?: Readonly<Record<string, unknown>>;
  /** The response fails with PDBSYNC_ERR_RECORD_TOO_LARGE past this many bytes. */
  readonly maxBytes?: number;
}

/** A command for POST /pdb/cmd/v1. */
export interface Command {
  readonly command: string;
  readonly version: number;
  readonly certname: string;
  readonly producerTimestamp: string;
  readonly payload: unknown;
}

/**
 * A command with its payload already written out: a large record's objects can be
 * collected before the request is sent, only its bytes stay in memory.
 */
export interface SerializedCommand extends Omit<Command, 'payload'> {
  /** The payload's JSON in pieces of about a megabyte, sent one after the other. */
  readonly body: readonly Buffer[];
}

export function serializeCommand({ payload, ...command }: Command): SerializedCommand {
  return { ...command, body: payloadChunks(payload) };
}

const CHUNK_BYTES = 1024 * 1024;

/** Writes text into buffers of CHUNK_BYTES, so that no large string or copy is needed. */
class ChunkWriter {
  private readonly chunks: Buffer[] = [];
  private current = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;

  write(text: string): void {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    if (text.length * 3 > this.current.length - this.used) {
      this.flush();
      if (text.length * 3 > CHUNK_BYTES) {
        this.chunks.push(Buffer.from(text));
        return;
      }
    }
    this.used += this.current.write(text, this.used);
  }

  end(): Buffer[] {
    this.flush();
    return this.chunks;
  }

  private flush(): void {
    if (this.used === 0) return;
    this.chunks.push(this.current.subarray(0, this.used));
    this.current = Buffer.allocUnsafe(CHUNK_BYTES);
    this.used = 0;
  }
}

/**
 * JSON.stringify's bytes, with each top-level array written element by element: a
 * 20 MB catalog then never exists as one 20 MB string, nor as a copy of its bytes
 * (writing it whole took 90 MB more peak RSS).
 */
export function payloadChunks(payload: unknown): Buffer[] {
  const out = new ChunkWriter();
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || 'toJSON' in payload) {
    out.write(JSON.stringify(payload));
    return out.end();
  }
  let separator = '{';
  for (const [key, value] of Object.entries(payload)) {
    if (!Array.isArray(value)) {
      const json = JSON.stringify(value) as string | undefined;
      // As JSON.stringify does: a member whose value has no JSON is left out.
      if (json === undefined) continue;
      out.write(`${separator}${JSON.stringify(key)}:${json}`);
    } else {
      out.write(`${separator}${JSON.stringify(key)}:[`);
      value.forEach((element: unknown, i) => out.write(`${i === 0 ? '' : ','}${JSON.stringify(element) ?? 'null'}`));
      out.write(']');
    }
    separator = ',';
  }
  out.write(separator === '{' ? '{}' : '}');
  return out.end();
}

export interface CommandResult {
  readonly uuid: string;
  /** True when PuppetDB applied the command before answering; false when it is still queued. */
  readonly applied: boolean;
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
   * Submits a command and, with `waitSeconds`, waits for PuppetDB to apply it
   * (secondsToWaitForCompletion): the sync then knows the command took effect before
   * it reads local state again, and the waiting bounds how much it queues.
   */
  async submit(command: SerializedCommand, waitSeconds: number, signal?: AbortSignal): Promise<CommandResult> {
    const params = new URLSearchParams({
      command: command.command,
      version: String(command.version),
      certname: command.certname,
      'producer-timestamp': command.producerTimestamp,
    });
    if (waitSeconds > 0) params.set('secondsToWaitForCompletion', String(waitSeconds));
    return this.retrying(async () => {
      const response = await this.send('POST', `/pdb/cmd/v1?${params}`, command.body);
      const text = await response.body.text();
      const answer = parseCommandAnswer(text);
      // A blocking submission answers 503 with a uuid when the command timed out or
      // failed in processing; a 503 without one means PuppetDB is not accepting commands.
      if (answer && (response.statusCode === 200 || response.statusCode === 503)) {
        if (answer.error) {
          throw new SyncError('PDBSYNC_ERR_COMMAND_FAILED', `${command.command} for ${command.certname}: ${answer.error}`);
        }
        return { uuid: answer.uuid, applied: answer.processed === true };
      }
      throw statusError(response.statusCode, `${command.command} for ${command.certname} on ${this.url}`, text);
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

function parseCommandAnswer(text: string): { uuid: string; processed?: boolean; error?: string } | undefined {
  try {
    const answer = JSON.parse(text) as { uuid?: unknown; processed?: unknown; error?: unknown };
    if (typeof answer.uuid !== 'string') return undefined;
    return {
      uuid: answer.uuid,
      ...(typeof answer.processed === 'boolean' && { processed: answer.processed }),
      ...(typeof answer.error === 'string' && { error: answer.error }),
    };
  } catch {
    return undefined;
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
