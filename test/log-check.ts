import { EcsFlat } from '@elastic/ecs';
import { isIP } from 'node:net';
import type { LogFormat, LogLevel } from '../src/config/types.ts';
import { createLogger, type Logger } from '../src/log.ts';
import { ECS_NAMESPACE } from '../src/log-ecs.ts';

/**
 * Checks log lines against the ECS field definitions, as Filebeat's default index
 * template maps them: a line that gives an ECS object (event, error, host, entity ...)
 * a scalar, or an ECS field a value of another type, would be refused by
 * Elasticsearch. Every line a test collects is checked; what fails is kept until the
 * test ends (log-check-setup.ts), as a throw inside a logger's write would be caught
 * by the code under test.
 */

const ECS_TYPES: ReadonlyMap<string, string> = new Map(Object.entries(EcsFlat as Record<string, { type: string }>).map(([name, field]) => [name, field.type]));

/** Every ECS name that holds other fields: `event`, `file.hash`, ... */
const ECS_OBJECTS: ReadonlySet<string> = new Set(
  [...ECS_TYPES.keys()].flatMap((name) => name.split('.').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('.'))),
);

/** ECS types that take a whole JSON object. */
const OBJECT_TYPES = new Set(['object', 'flattened', 'nested', 'geo_point']);

const violations: string[] = [];
let checkedCount = 0;

/** What in `line` Filebeat's ECS template would refuse; empty when it indexes cleanly. */
export function ecsProblems(line: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [path, value] of leaves(line, '', problems)) {
    const type = ECS_TYPES.get(path);
    if (type !== undefined) {
      if (!fitsType(type, value)) problems.push(`${path} is an ECS ${type}, given ${JSON.stringify(value)}`);
    } else if (ECS_OBJECTS.has(path)) {
      problems.push(`${path} is an ECS object, given ${JSON.stringify(value)}`);
    } else if ('ecs.version' in line && !path.startsWith(`${ECS_NAMESPACE}.`)) {
      // In the ECS format, every field that is not ECS's is ours and in our namespace.
      problems.push(`${path} is neither an ECS field nor under ${ECS_NAMESPACE}.*`);
    }
  }
  return problems;
}

/**
 * The scalar values of `value` by their dotted path, as Elasticsearch expands both
 * nested objects and dotted keys; an object where ECS has a scalar is a problem.
 */
function* leaves(value: unknown, path: string, problems: string[]): Generator<[string, unknown]> {
  if (Array.isArray(value)) {
    for (const item of value) yield* leaves(item, path, problems);
    return;
  }
  if (value === null || typeof value !== 'object') {
    if (value !== null) yield [path, value];
    return;
  }
  const type = ECS_TYPES.get(path);
  if (type !== undefined && OBJECT_TYPES.has(type)) return;
  if (type !== undefined) {
    problems.push(`${path} is an ECS ${type}, given an object`);
    return;
  }
  for (const [key, inner] of Object.entries(value)) yield* leaves(inner, path === '' ? key : `${path}.${key}`, problems);
}

function fitsType(type: string, value: unknown): boolean {
  switch (type) {
    case 'keyword':
    case 'constant_keyword':
    case 'wildcard':
    case 'match_only_text':
    case 'text':
      return typeof value === 'string';
    case 'long':
    case 'integer':
      return Number.isInteger(value);
    case 'float':
    case 'double':
    case 'scaled_float':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'date':
      return typeof value === 'number' || (typeof value === 'string' && !Number.isNaN(Date.parse(value)));
    case 'ip':
      return typeof value === 'string' && isIP(value) !== 0;
    default:
      return false;
  }
}

/** Checks one line as written, keeping what is wrong for the end of the test; the line, parsed. */
export function checkLogLine(text: string): Record<string, any> {
  checkedCount++;
  const line = JSON.parse(text) as Record<string, unknown>;
  // Written again, a line loses any key it gave twice: Elasticsearch refuses such a line.
  if (JSON.stringify(line).length !== text.trim().length) violations.push(`a key given twice in ${text.trim()}`);
  for (const problem of ecsProblems(line)) violations.push(`${problem} in ${text.trim()}`);
  return line;
}

/** The problems found since the last call, and how many lines were checked. */
export function takeLogViolations(): { checked: number; violations: string[] } {
  const taken = { checked: checkedCount, violations: violations.splice(0) };
  checkedCount = 0;
  return taken;
}

/** A logger whose lines are kept, parsed and checked. */
export function collectedLog(level: LogLevel = 'debug', format: LogFormat = 'pe'): { log: Logger; lines: Array<Record<string, any>> } {
  const lines: Array<Record<string, any>> = [];
  const write = (text: string) => void lines.push(checkLogLine(text));
  return { log: createLogger(level, format, { write }), lines };
}
