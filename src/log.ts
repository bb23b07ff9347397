import { performance } from 'node:perf_hooks';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { LogFormat, LogLevel } from './config/types.ts';
import type { EntityName } from './types.ts';
import { ecsOptions } from './log-ecs.ts';
import { serializeError } from './log-error.ts';

export type { Logger };

/**
 * JSON lines that Filebeat and Logstash take unchanged, and that index cleanly under
 * Filebeat's default ECS template in either format: `pe`, Puppet Enterprise's sync
 * fields (see peFields), or `ecs`, Elastic Common Schema (see log-ecs.ts).
 */
export function createLogger(level: LogLevel, format: LogFormat = 'pe', destination?: DestinationStream): Logger {
  return pino({ level, ...(format === 'ecs' ? ecsOptions() : peOptions()) }, destination ?? pino.destination({ fd: 1, sync: true }));
}

/** An ISO 8601 `@timestamp`, the level as a word under `level` and the text under `message`. */
function peOptions(): LoggerOptions {
  return {
    base: { logger: 'sync' },
    messageKey: 'message',
    timestamp: () => `,"@timestamp":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }), log: peFields },
    serializers: { err: serializeError },
  };
}

/**
 * ECS's top-level field sets, which Filebeat's default template maps as objects: a
 * field of ours by one of these names (PE's `event` and `entity`, a `tls` flag) is
 * written with a `sync_` prefix in the pe format, as Elasticsearch refuses a line that
 * gives an object a word. A unit test keeps the list in step with @elastic/ecs.
 */
export const ECS_OBJECT_NAMES: ReadonlySet<string> = new Set([
  'agent', 'client', 'cloud', 'container', 'data_stream', 'destination', 'device', 'dll', 'dns', 'ecs', 'email',
  'entity', 'error', 'event', 'faas', 'file', 'gen_ai', 'group', 'host', 'http', 'labels', 'log', 'network',
  'observer', 'orchestrator', 'organization', 'package', 'process', 'registry', 'related', 'rule', 'server',
  'service', 'source', 'span', 'threat', 'tls', 'trace', 'transaction', 'url', 'user', 'user_agent', 'volume',
  'vulnerability',
]);

function peFields(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([key, value]) => [ECS_OBJECT_NAMES.has(key) ? `sync_${key}` : key, value]));
}

/** PE's log name of an entity where PE has the entity under another name. */
export function logEntityName(entity: EntityName): string {
  return entity === 'factsets' ? 'facts' : entity;
}

/** Puppet Enterprise's sync log phases, and `puppetdb-sync seed`'s own. */
export type Phase = 'sync' | 'entity' | 'record' | 'deactivate' | 'seed' | 'dump' | 'restore';

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
