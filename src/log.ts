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
        { phase, event: 'error', ok: false, elapsed: elapsed(), ...fields, ...extra, error: describeError(error) },
        `${phase} error: ${error instanceof Error ? error.message : String(error)}`,
      );
    },
  };
}

export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof SyncError) return { code: error.code, retryable: error.retryable, message: error.message };
  if (error instanceof Error) return { message: error.message, stack: error.stack };
  return { message: String(error) };
}
