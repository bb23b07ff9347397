import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryable } from '../errors.ts';

/** The one retry policy of every request to a PuppetDB server. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Delay before the second attempt; doubled for each one after, with ±20% jitter. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ attempts: 4, initialDelayMs: 500, maxDelayMs: 10_000 });

export function retryDelayMs(policy: RetryPolicy, failedAttempts: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (failedAttempts - 1));
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

/** Runs `operation` until it succeeds, fails with an error that is not retryable, or the attempts run out. */
export async function withRetry<T>(
  operation: () => Promise<T>,
  policy: RetryPolicy,
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= policy.attempts || !isRetryable(error)) throw error;
      const delayMs = retryDelayMs(policy, attempt);
      onRetry?.(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
