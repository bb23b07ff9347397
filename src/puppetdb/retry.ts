import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryable, SyncError, type ErrorCode } from '../errors.ts';

/** The one retry policy of every request to a PuppetDB server. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Delay before the second attempt; doubled for each one after, with ±20% jitter. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Codes retried past `attempts`, until the operation succeeds or is aborted (a local PuppetDB in maintenance). */
  readonly waitOutCodes?: readonly ErrorCode[];
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ attempts: 4, initialDelayMs: 500, maxDelayMs: 10_000 });

export function retryDelayMs(policy: RetryPolicy, failedAttempts: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (failedAttempts - 1));
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

/** Faults that say the server is not answering at all: refused or reset connections, silence, a trickle. */
const NOT_ANSWERING: ReadonlySet<ErrorCode> = new Set(['PDBSYNC_ERR_HTTP_CONNECT', 'PDBSYNC_ERR_HTTP_TIMEOUT']);

/** Attempts in a row, with no whole response between them, that make a server down. */
export const FAILURES_TO_OPEN = 2;

/**
 * One server's circuit breaker. After FAILURES_TO_OPEN attempts in a row found the
 * server not answering, with no whole response in between (any request, any status),
 * the server is down: the requests in flight to it are aborted and every later one
 * fails at once with PDBSYNC_ERR_SERVER_DOWN, until `reset`, which each pass does at
 * its start. So a dead or hung server costs a pass at most two request deadlines
 * and one backoff, instead of connect retries for every record still queued.
 */
export class CircuitBreaker {
  private readonly server: string;
  private failures = 0;
  private controller = new AbortController();

  constructor(server: string) {
    this.server = server;
  }

  /** Aborted, with the PDBSYNC_ERR_SERVER_DOWN error as its reason, once the server is down. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get open(): boolean {
    return this.controller.signal.aborted;
  }

  /** Told of every failed attempt, once each. */
  failed(error: unknown): void {
    if (this.open || !(error instanceof SyncError) || !NOT_ANSWERING.has(error.code)) return;
    this.failures++;
    if (this.failures < FAILURES_TO_OPEN) return;
    const detail = `${this.server} did not answer ${this.failures} attempts in a row (the last: ${error.detail})`;
    this.controller.abort(new SyncError('PDBSYNC_ERR_SERVER_DOWN', detail, { cause: error }));
  }

  /** Told of every whole response. */
  succeeded(): void {
    if (!this.open) this.failures = 0;
  }

  /** A new pass tries the server again. */
  reset(): void {
    this.failures = 0;
    if (this.open) this.controller = new AbortController();
  }

  throwIfOpen(): void {
    if (this.open) throw this.controller.signal.reason;
  }
}

export interface RetryOptions {
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Stops retrying: the entity or the sidecar stops. */
  readonly signal?: AbortSignal;
  /** No attempt is made, and no backoff waited out, once the server is down. */
  readonly breaker?: CircuitBreaker;
}

/**
 * Runs `operation` until it succeeds, fails with an error that is not retryable, the
 * attempts run out (unless its code is one to wait out), `signal` aborts or the
 * server is found down.
 */
export async function withRetry<T>(operation: () => Promise<T>, policy: RetryPolicy, options: RetryOptions = {}): Promise<T> {
  const { breaker, signal } = options;
  const stop = AbortSignal.any([signal, breaker?.signal].filter((s): s is AbortSignal => s !== undefined));
  for (let attempt = 1; ; attempt++) {
    breaker?.throwIfOpen();
    try {
      return await operation();
    } catch (error) {
      const waitOut = error instanceof SyncError && (policy.waitOutCodes?.includes(error.code) ?? false);
      if ((attempt >= policy.attempts && !waitOut) || !isRetryable(error) || stop.aborted) throw error;
      const delayMs = retryDelayMs(policy, attempt);
      options.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, undefined, { signal: stop }).catch(() => {
        throw error;
      });
    }
  }
}
