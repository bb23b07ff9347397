import { performance } from 'node:perf_hooks';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config/types.ts';
import { SyncError } from './errors.ts';

export type { Logger };

/**
 * JSON lines that Filebeat and Logstash take unchanged: an ISO 8601 `@timestamp`,
 * the level as a word and the text under `message`.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { logger: 'sync' },
      messageKey: 'message',
      timestamp: () => `,"@timestamp":"${new Date().toISOString()}"`,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
    },
    destination ?? pino.destination({ fd: 1, sync: true }),
  );
}

/** Puppet Enterprise's sync log phases. */
export type Phase = 'sync' | 'entity' | 'record' | 'deactivate';

export interface PhaseLog {
  finished(fields?: Record<string, unknown>): void;
  error(error: unknown, fields?: Record<string, unknown>): void;
}

/**
 * Logs `start` now and, later, one `finished` (ok true) or `error` (ok false) with the
 * elapsed milliseconds, as Puppet Enterprise's sync does. Record and deactivate
 * phases log at debug level unless they fail.
 */
export function startPhase(log: Logger, phase: Phase, fields: Record<string, unknown>): PhaseLog {
  const quiet = phase === 'record' || phase === 'deactivate';
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const at = quiet ? 'debug' : 'info';
  log[at]({ phase, event: 'start', ...fields }, `${phase} start`);
  return {
    finished(extra) {
      log[at]({ phase, event: 'finished', ok: true, elapsed: elapsed(), ...fields, ...extra }, `${phase} finished`);
    },
    error(error, extra) {
      log.error(
        { phase, event: 'error', ok: false, elapsed: elapsed(), ...fields, ...extra, err: error },
        `${phase} error: ${error instanceof Error ? error.message : String(error)}`,
      );
    },
  };
}

/**
 * The one shape of an error in the log, under `err` on every line: an expected fault
 * (a SyncError) is its code, whether it is retried and its message, with no stack; an
 * unexpected one (a bug) keeps its stack.
 */
export function serializeError(error: unknown): Record<string, unknown> {
  if (error instanceof SyncError) return { type: error.name, code: error.code, retryable: error.retryable, message: error.message };
  if (error instanceof Error) return { type: error.name, message: error.message, stack: error.stack };
  return { type: typeof error, message: String(error) };
}
