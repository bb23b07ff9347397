/**
 * Validation of the parsed configuration against schema.ts: unknown and missing keys,
 * values of the wrong type, defaults applied, URLs, durations and paths normalised.
 * Every failure is a SyncError whose one-line message names the key, the file and the
 * line.
 */

import { dirname, resolve as resolvePath } from 'node:path';

import { SyncError, type ErrorCode } from '../errors.ts';
import { parseDuration } from './duration.ts';
import { oneLine, type Path, type SourceMap } from './hocon.ts';
import { childKey, childrenOf, describeType, type OptionSpec, type OptionTable } from './schema.ts';

// ---------------------------------------------------------------------------
// Errors

/** `sync.remotes[0].interval`; a key that is not a plain word is quoted. */
function formatPath(path: Path): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += (out === '' ? '' : '.') + (/^[A-Za-z0-9_-]+$/.test(segment) ? segment : JSON.stringify(segment));
  }
  return out;
}

function configError(code: ErrorCode, file: string, line: number, path: Path, what: string): SyncError {
  return new SyncError(code, oneLine(`${formatPath(path)}: ${what} at ${file}:${line}`));
}

/** A value as shown in a message: JSON for scalars (so strings are quoted), a word for the rest, never very long. */
export function show(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// ---------------------------------------------------------------------------
// URLs

const DEFAULT_PORT: Readonly<Record<string, number>> = { 'http:': 8080, 'https:': 8081 };

/**
 * `scheme://host:port` with the port made explicit (8080 for http, 8081 for https, as
 * PuppetDB and PE's sync do), the host lower-cased, no trailing slash. Throws a plain
 * Error describing the problem; credentials are never echoed.
 */
export function normaliseServerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${show(text)} is not a URL (like "https://puppetdb.example.net:8081")`);
  }
  const port = DEFAULT_PORT[url.protocol];
  if (port === undefined) throw new Error(`${show(url.protocol + '//' + url.host)} is not an http or https URL`);
  if (url.username !== '' || url.password !== '') {
    throw new Error(`${show(`${url.protocol}//${url.host}`)} must not contain credentials (use tls for client authentication)`);
  }
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(text)) throw new Error(`${show(text)} must not have a query or fragment`);
  if (url.pathname !== '/') throw new Error(`${show(text)} must not have a path (give scheme, host and port only)`);
  // WHATWG URL drops a port equal to the scheme's own default (80, 443), which is
  // not ours, so an explicit ":80" must be read from the text itself.
  const explicit = /^\s*[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#[\]]*):(\d+)/i.exec(text)?.[1];
  const effective = url.port !== '' ? Number(url.port) : explicit !== undefined ? Number(explicit) : port;
  return `${url.protocol}//${url.hostname}:${effective}`;
}

// ---------------------------------------------------------------------------
// Validation against the schema

export type Tree = { readonly [key: string]: unknown };

export function isObject(value: unknown): value is Tree {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export class Validator {
  private readonly sources: SourceMap;
  private readonly table: OptionTable;

  /** `table`: the options of the kind of file being read (SIDECAR_OPTIONS, SPOOL_OPTIONS). */
  constructor(sources: SourceMap, table: OptionTable) {
    this.sources = sources;
    this.table = table;
  }

  /** Fails naming `path`, at the line of `at` (the key's own line when `key`) in the file it came from. */
  fail(code: ErrorCode, path: Path, what: string, at: { readonly path: Path; readonly key?: boolean } = { path }): never {
    const line = at.key ? this.sources.keyLine(at.path) : this.sources.line(at.path);
    throw configError(code, this.sources.file(at.path), line, path, what);
  }

  /** Validates an object's keys against the schema's children of `schemaKey`; returns it normalised, defaults applied. */
  object(value: Tree, schemaKey: string, path: Path): Tree {
    for (const name of Object.keys(value)) {
      const spec = /[.[\]]/.test(name) ? undefined : this.table.byKey.get(childKey(schemaKey, name));
      if (spec === undefined) {
        const known = this.children(schemaKey).map((c) => c.key.slice(c.key.lastIndexOf('.') + 1));
        const hint = known.length > 0 ? `; known here: ${known.join(', ')}` : '';
        this.fail('PDBSYNC_ERR_CONFIG_UNKNOWN_KEY', [...path, name], `unknown key${hint}`, { path: [...path, name], key: true });
      }
    }
    const out: Record<string, unknown> = {};
    for (const spec of this.children(schemaKey)) {
      const name = spec.key.slice(spec.key.lastIndexOf('.') + 1);
      const childPath = [...path, name];
      const given = value[name];
      if (given !== undefined) {
        out[name] = this.value(given, spec, childPath);
      } else if (spec.default !== undefined) {
        out[name] = this.value(spec.default, spec, childPath);
      } else if (spec.type.kind === 'object' && !spec.absentUnlessWritten && (spec.required || !this.hasRequiredChildren(spec))) {
        out[name] = this.object({}, spec.key, childPath);
      } else if (spec.required) {
        // Reported at the line of the object that should hold the key.
        this.fail('PDBSYNC_ERR_CONFIG_MISSING_KEY', childPath, `missing (${describeType(spec.type)})`, { path });
      } else {
        const sibling = spec.requiredWith?.find((name) => value[name] !== undefined);
        if (sibling !== undefined) {
          this.fail('PDBSYNC_ERR_CONFIG_MISSING_KEY', childPath, `missing (${describeType(spec.type)}), needed with ${formatPath([...path, sibling])}`, { path: [...path, sibling], key: true });
        }
      }
    }
    return out;
  }

  private children(schemaKey: string): OptionSpec[] {
    return childrenOf(schemaKey, this.table.options);
  }

  private hasRequiredChildren(spec: OptionSpec): boolean {
    return this.children(spec.key).some((c) => c.required);
  }

  value(value: unknown, spec: OptionSpec, path: Path): unknown {
    const type = spec.type;
    const invalid = (what: string): never => this.fail('PDBSYNC_ERR_CONFIG_INVALID_VALUE', path, what);
    switch (type.kind) {
      case 'object':
        if (!isObject(value)) return invalid(`${show(value)} is not an object`);
        return this.object(value, spec.key, path);
      case 'array': {
        if (!Array.isArray(value)) return invalid(`${show(value)} is not an array`);
        if (value.length < type.minItems) {
          return invalid(value.length === 0 ? `is empty (at least ${type.minItems} needed)` : `has ${value.length} elements (at least ${type.minItems} needed)`);
        }
        const element = this.table.byKey.get(childKey(spec.key, '[]'));
        if (element === undefined) throw new Error(`schema.ts: ${spec.key} has no ${spec.key}[] entry`);
        return value.map((v, i) => this.value(v, element, [...path, i]));
      }
      case 'url':
        if (typeof value !== 'string') return invalid(`${show(value)} is not a URL (like "https://puppetdb.example.net:8081")`);
        try {
          return normaliseServerUrl(value);
        } catch (error) {
          return invalid((error as Error).message);
        }
      case 'duration': {
        if (typeof value !== 'string') return invalid(`${show(value)} is not a duration (30s, 2m, 1h, 7d)`);
        let ms: number;
        try {
          ms = parseDuration(value);
        } catch (error) {
          return invalid((error as Error).message);
        }
        if (ms < parseDuration(type.min)) return invalid(`${show(value)} is shorter than the minimum ${type.min}`);
        return ms;
      }
      case 'integer': {
        // HOCON allows a number to be given as a string; accept plain decimal digits.
        const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
        if (!Number.isInteger(n) || n < type.min || n > type.max) return invalid(`${show(value)} is not an integer from ${type.min} to ${type.max}`);
        return n;
      }
      case 'host':
        if (typeof value !== 'string' || !/^[A-Za-z0-9.:-]+$/.test(value)) return invalid(`${show(value)} is not a host name or IP address`);
        return value;
      case 'path':
        if (typeof value !== 'string' || value.trim() === '') return invalid(`${show(value)} is not a file path`);
        // Relative to the file that named it.
        return resolvePath(dirname(this.sources.file(path)), value);
      case 'enum':
        if (typeof value !== 'string' || !type.values.includes(value)) return invalid(`${show(value)} is not one of ${type.values.join(', ')}`);
        return value;
      case 'boolean':
        // HOCON allows a boolean to be given as a string.
        if (value === true || value === 'true') return true;
        if (value === false || value === 'false') return false;
        return invalid(`${show(value)} is not true or false`);
      case 'string':
        if (typeof value !== 'string' || value === '') return invalid(`${show(value)} is not a non-empty string`);
        if (type.pattern !== undefined && !new RegExp(type.pattern).test(value)) return invalid(`${show(value)} is not ${type.describe ?? `like /${type.pattern}/`}`);
        return value;
      case 'secret':
        if (typeof value !== 'string' || value === '') return invalid('is not a non-empty string (its value is not shown)');
        return value;
    }
  }
}
