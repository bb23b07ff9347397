import { ecsFormat } from '@elastic/ecs-pino-format';
import type { LoggerOptions } from 'pino';
import { serializeError } from './log-error.ts';

/** Where every field of ours goes in an ECS line, so that none can take the name of an ECS field. */
export const ECS_NAMESPACE = 'puppetdb_sync';

/**
 * Elastic Common Schema lines, as @elastic/ecs-pino-format writes them (`@timestamp`,
 * `log.level`, `message`, `ecs.version`, `service.name`, `process.pid`,
 * `host.hostname`, `log.logger`), with the sync's own fields mapped: see ecsFields.
 */
export function ecsOptions(): LoggerOptions {
  // convertErr off: its error.* would carry the stack of expected faults and no code.
  const ecs = ecsFormat({ serviceName: 'puppetdb-sync', convertErr: false, apmIntegration: false });
  const formatLine = ecs.formatters?.log ?? ((fields: Record<string, unknown>) => fields);
  return { ...ecs, name: 'sync', formatters: { ...ecs.formatters, log: (fields) => formatLine(ecsFields(fields)) } };
}

/**
 * A line's fields, as the call sites give them (PE's names), in ECS: `event` becomes
 * event.action, `ok` event.outcome, `elapsed` (ms) event.duration (ns), `err`
 * error.type, error.code, error.message and, for a bug, error.stack_trace; every other
 * field goes under puppetdb_sync.*, unchanged.
 */
export function ecsFields(fields: Record<string, unknown>): Record<string, unknown> {
  const { event, ok, elapsed, err, ...own } = fields;
  const ecsEvent = {
    ...(typeof event === 'string' && { action: event }),
    ...(typeof ok === 'boolean' && { outcome: ok ? 'success' : 'failure' }),
    ...(typeof elapsed === 'number' && { duration: Math.round(elapsed * 1_000_000) }),
  };
  const line: Record<string, unknown> = {};
  if (Object.keys(ecsEvent).length > 0) line.event = ecsEvent;
  if (err !== undefined) {
    const { type, code, message, stack, retryable } = serializeError(err);
    line.error = { type, message, ...(code !== undefined && { code }), ...(stack !== undefined && { stack_trace: stack }) };
    // Not an ECS field: ours, beside the others.
    if (retryable !== undefined) own.retryable = retryable;
  }
  if (Object.keys(own).length > 0) line[ECS_NAMESPACE] = own;
  return line;
}
