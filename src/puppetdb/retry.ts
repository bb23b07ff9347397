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

/**
 * Runs `operation` until it succeeds, fails with an error that is not retryable, the
 * attempts run out (unless its code is one to wait out), or `signal` aborts.
 */
export async function withRetry<T>(
  operation: () => Promise<T>,
  policy: RetryPolicy,
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const waitOut = error instanceof SyncError && (policy.waitOutCodes?.includes(error.code) ?? false);
      if ((attempt >= policy.attempts && !waitOut) || !isRetryable(error) || signal?.aborted) throw error;
      const delayMs = retryDelayMs(policy, attempt);
      onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, undefined, { signal }).catch(() => {
        throw error;
      });
    }
  }
}
