import { SyncError } from './errors.ts';

/**
 * The one shape of an error in the log, whatever the format: an expected fault (a
 * SyncError) is its code, whether it is retried and its message, with no stack; an
 * unexpected one (a bug) keeps its stack.
 */
export interface LoggedError {
  readonly type: string;
  readonly message: string;
  readonly code?: string;
  readonly retryable?: boolean;
  readonly stack?: string;
}

export function serializeError(error: unknown): LoggedError {
  if (error instanceof SyncError) return { type: error.name, code: error.code, retryable: error.retryable, message: error.message };
  if (error instanceof Error) return { type: error.name, message: error.message, ...(error.stack !== undefined && { stack: error.stack }) };
  return { type: typeof error, message: String(error) };
}
