/**
 * Reads the HOCON configuration file, validates it against schema.ts, normalises it
 * and returns a deep-frozen Config. Every failure is a SyncError whose message is one
 * line: the key (or, for syntax errors, the column too), the file and the line.
 *
 * The HOCON parser (@pushcorn/hocon-parser) is asynchronous all the way down, so
 * loadConfig and parseConfig return promises.
 */

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, resolve as resolvePath } from 'node:path';

import { SyncError, type ErrorCode } from '../errors.ts';
import { parseDuration } from './duration.ts';
import { OPTIONS_BY_KEY, childKey, childrenOf, describeType, type OptionSpec } from './schema.ts';
import type { Config, LogLevel, RemoteConfig } from './types.ts';

// ---------------------------------------------------------------------------
// The parser. It is CommonJS without type declarations; these interfaces describe
// only what is used here. Its node classes are documented as extensible ("Core
// Components" in its README), and each node keeps the tokens it was built from, with
// their line and column: that is where the positions of keys and values come from.

interface HoconToken {
  readonly type: symbol;
  readonly value: unknown;
  readonly line: number;
  readonly col: number;
  readonly quoted: boolean;
}

interface HoconNode {
  readonly children: readonly unknown[];
  readonly firstToken: HoconToken | null;
}

interface HoconFieldNode extends HoconNode {
  /** `path` is set once the key is resolved: the key split on unquoted dots. */
  readonly key: (HoconNode & { readonly path?: readonly string[] }) | null;
  readonly value: HoconNode | null;
}

interface HoconContext {
  readonly node: HoconNode | null;
  resolve(): Promise<unknown>;
}

type NodeClass = abstract new (...args: never[]) => HoconNode;

const require = createRequire(import.meta.url);
const hocon = require('@pushcorn/hocon-parser') as {
  Context: new (opts: { text: string; strict: boolean }) => HoconContext;
};
const { Tokenizer } = require('@pushcorn/hocon-parser/lib/core/Tokenizer.js') as {
  Tokenizer: new () => { tokenize(text: string, strict: boolean): HoconToken[] };
};
const { Token } = require('@pushcorn/hocon-parser/lib/core/Token.js') as {
  Token: { TYPE: Record<'VALUE' | 'PIPE' | 'AT', symbol> };
};
const nodeClass = (name: string): NodeClass =>
  (require(`@pushcorn/hocon-parser/lib/nodes/${name}.js`) as Record<string, NodeClass>)[name]!;
const ObjectNode = nodeClass('ObjectNode');
const ArrayNode = nodeClass('ArrayNode');
const FieldNode = nodeClass('FieldNode');
const ValueNode = nodeClass('ValueNode');

// ---------------------------------------------------------------------------
// Paths and positions

type Path = readonly (string | number)[];

/** `sync.remotes[0].interval`; a key that is not a plain word is quoted. */
export function formatPath(path: Path): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += (out === '' ? '' : '.') + (/^[A-Za-z0-9_-]+$/.test(segment) ? segment : JSON.stringify(segment));
  }
  return out;
}

/**
 * Line of every key and value, by path. The parser gives no positions in its result,
 * but its node tree (kept on the Context after resolution) holds the tokens, so the
 * lines come from there rather than from scanning the text: dotted keys
 * (`sync.node-purge-ttl = 14d`), nested and quoted keys, and array elements are then
 * all found exactly as the parser understood them. When a key is defined more than once
 * the last definition is recorded, as it is the one whose value counts.
 */
class Positions {
  private readonly keys = new Map<string, number>();
  private readonly values = new Map<string, number>();

  static of(root: HoconNode | null): Positions {
    const positions = new Positions();
    if (root instanceof ObjectNode) positions.object(root, []);
    return positions;
  }

  /** Line of the key itself (for unknown keys). */
  keyLine(path: Path): number {
    return this.keys.get(JSON.stringify(path)) ?? this.line(path);
  }

  /** Line of the value (the `{` of an object, the first token of a scalar), else of its key, else of the nearest ancestor, else 1. */
  line(path: Path): number {
    for (let p = path; p.length > 0; p = p.slice(0, -1)) {
      const id = JSON.stringify(p);
      const found = this.values.get(id) ?? this.keys.get(id);
      if (found !== undefined) return found;
    }
    return 1;
  }

  private object(node: HoconNode, prefix: Path): void {
    for (const child of node.children) {
      if (!(child instanceof FieldNode)) continue; // an IncludeNode: includes are refused before resolution
      const field = child as HoconFieldNode;
      const keyPath = field.key?.path;
      const keyLine = field.key?.firstToken?.line;
      if (keyPath === undefined || keyLine === undefined) continue;
      // A dotted key `a.b.c = 1` also introduces a and a.b at that line, unless seen before.
      for (let i = 1; i < keyPath.length; i++) {
        const id = JSON.stringify([...prefix, ...keyPath.slice(0, i)]);
        if (!this.keys.has(id)) this.keys.set(id, keyLine);
      }
      const path = [...prefix, ...keyPath];
      this.keys.set(JSON.stringify(path), keyLine);
      if (field.value !== null) this.value(field.value, path, 0);
    }
  }

  /** Records a value node and what it contains; returns the next array index (for `[a] [b]` concatenation). */
  private value(node: HoconNode, path: Path, index: number): number {
    const line = node.firstToken?.line;
    if (line !== undefined) this.values.set(JSON.stringify(path), line);
    for (const child of node.children) {
      if (child instanceof ObjectNode) this.object(child, path);
      else if (child instanceof ArrayNode) index = this.array(child, path, index);
    }
    return index;
  }

  private array(node: HoconNode, path: Path, start: number): number {
    let index = start;
    for (const child of node.children) {
      if (child instanceof ValueNode) {
        this.value(child, [...path, index], 0);
        index++;
      } else if (child instanceof ArrayNode) {
        // `[[1], [2]]`: the parser nests the inner arrays directly.
        const line = child.firstToken?.line;
        if (line !== undefined) this.values.set(JSON.stringify([...path, index]), line);
        this.array(child, [...path, index], 0);
        index++;
      }
    }
    return index;
  }
}

// ---------------------------------------------------------------------------
// Errors

function configError(code: ErrorCode, file: string, line: number, path: Path, what: string): SyncError {
  return new SyncError(code, oneLine(`${formatPath(path)}: ${what} at ${file}:${line}`));
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** A value as shown in a message: JSON for scalars (so strings are quoted), a word for the rest, never very long. */
function show(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * The parser's errors carry their position as "(line: 2, col: 7)" or as a token dump
 * "Token: { value: "2", line: 2, col: 7 }", after an internal node id; keep the sentence
 * and the position only.
 */
function parseError(error: unknown, file: string): SyncError {
  const raw = error instanceof Error ? error.message : String(error);
  const positions = [...raw.matchAll(/line: (\d+), col: (\d+)/g)];
  const last = positions.at(-1);
  let sentence = raw.split(/ \((?:Source|text|line):| Token: \{/)[0]!.trim().replace(/[.!]+$/, '');
  sentence = sentence.charAt(0).toLowerCase() + sentence.slice(1);
  if (/value: ":"/.test(raw)) sentence += ' (a value containing ":", such as a URL, must be quoted)';
  const where = last === undefined ? file : `${file}:${last[1]}:${last[2]}`;
  return new SyncError('PDBSYNC_ERR_CONFIG_PARSE', oneLine(`${sentence} at ${where}`), { cause: error });
}

/**
 * The parser, even in strict mode, still honours `include` (of local files, of http(s)
 * URLs, and of .js files, which it runs) and `|` value transforms (one of which
 * evaluates JavaScript). A configuration must never reach the network nor run code, and
 * none of our keys needs either, so both are refused here, from the tokens, before the
 * parser resolves anything. Substitutions (`${...}`, including environment variables)
 * are left as the parser does them.
 */
function refuseIncludesAndTransforms(text: string, file: string): void {
  let tokens: HoconToken[];
  try {
    tokens = new Tokenizer().tokenize(text, true);
  } catch (error) {
    throw parseError(error, file);
  }
  for (const token of tokens) {
    const where = `${file}:${token.line}:${token.col}`;
    if (token.type === Token.TYPE.PIPE || token.type === Token.TYPE.AT) {
      throw new SyncError('PDBSYNC_ERR_CONFIG_UNSUPPORTED', `"${String(token.value)}" value transforms are not supported (quote the value if it contains "|") at ${where}`);
    }
    if (token.type === Token.TYPE.VALUE && !token.quoted && (token.value === 'include' || token.value === 'require')) {
      throw new SyncError('PDBSYNC_ERR_CONFIG_UNSUPPORTED', `${token.value} is not supported: the configuration must be one self-contained file at ${where}`);
    }
  }
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

type Tree = { readonly [key: string]: unknown };

function isObject(value: unknown): value is Tree {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function hasRequiredChildren(spec: OptionSpec): boolean {
  return childrenOf(spec.key).some((c) => c.required);
}

class Validator {
  private readonly file: string;
  private readonly positions: Positions;

  constructor(file: string, positions: Positions) {
    this.file = file;
    this.positions = positions;
  }

  fail(code: ErrorCode, path: Path, what: string, line = this.positions.line(path)): never {
    throw configError(code, this.file, line, path, what);
  }

  /** Validates an object's keys against the schema's children of `schemaKey`; returns it normalised, defaults applied. */
  object(value: Tree, schemaKey: string, path: Path): Tree {
    for (const name of Object.keys(value)) {
      const spec = /[.[\]]/.test(name) ? undefined : OPTIONS_BY_KEY.get(childKey(schemaKey, name));
      if (spec === undefined) {
        const known = childrenOf(schemaKey).map((c) => c.key.slice(c.key.lastIndexOf('.') + 1));
        const hint = known.length > 0 ? `; known here: ${known.join(', ')}` : '';
        this.fail('PDBSYNC_ERR_CONFIG_UNKNOWN_KEY', [...path, name], `unknown key${hint}`, this.positions.keyLine([...path, name]));
      }
    }
    const out: Record<string, unknown> = {};
    for (const spec of childrenOf(schemaKey)) {
      const name = spec.key.slice(spec.key.lastIndexOf('.') + 1);
      const childPath = [...path, name];
      const given = value[name];
      if (given !== undefined) {
        out[name] = this.value(given, spec, childPath);
      } else if (spec.default !== undefined) {
        out[name] = this.value(spec.default, spec, childPath);
      } else if (spec.type.kind === 'object' && (spec.required || !hasRequiredChildren(spec))) {
        out[name] = this.object({}, spec.key, childPath);
      } else if (spec.required) {
        // Reported at the line of the object that should hold the key.
        this.fail('PDBSYNC_ERR_CONFIG_MISSING_KEY', childPath, `missing (${describeType(spec.type)})`, this.positions.line(path));
      }
    }
    return out;
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
        const element = OPTIONS_BY_KEY.get(childKey(spec.key, '[]'));
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
      case 'path':
        if (typeof value !== 'string' || value.trim() === '') return invalid(`${show(value)} is not a file path`);
        return resolvePath(dirname(this.file), value);
      case 'enum':
        if (typeof value !== 'string' || !type.values.includes(value)) return invalid(`${show(value)} is not one of ${type.values.join(', ')}`);
        return value;
    }
  }
}

// ---------------------------------------------------------------------------
// Entry points

/** Reads and validates the configuration file; the Config's `file` is its absolute path. */
export async function loadConfig(file: string): Promise<Config> {
  const absolute = resolvePath(file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SyncError('PDBSYNC_ERR_CONFIG_READ', oneLine(`${reason}`), { cause: error });
  }
  return parseConfig(text, absolute);
}

/** Validates configuration text; `file` (made absolute) is only used in messages and as Config.file. */
export async function parseConfig(text: string, file: string): Promise<Config> {
  const absolute = resolvePath(file);
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;

  refuseIncludesAndTransforms(source, absolute);
  // The Context is used directly rather than the package's default export, which also
  // loads "plugins" named in the main module's package.json.
  const context = new hocon.Context({ text: source, strict: true });
  let raw: unknown;
  try {
    raw = await context.resolve();
  } catch (error) {
    throw parseError(error, absolute);
  }
  if (raw === undefined || raw === null) raw = {};
  if (!isObject(raw)) {
    throw new SyncError('PDBSYNC_ERR_CONFIG_PARSE', `the top level is ${show(raw)}, not an object at ${absolute}:1`);
  }

  const positions = Positions.of(context.node);
  const validator = new Validator(absolute, positions);
  const tree = validator.object(raw, '', []);
  const config = toConfig(tree, absolute);

  // Compared once normalised, so "http://127.0.0.1" and "http://127.0.0.1:8080/" are one server.
  // Host names are not resolved (no network while loading): "localhost" and
  // "127.0.0.1" count as different servers.
  const remotes = config.sync.remotes;
  const written = (i: number): string => show((raw as { sync: { remotes: Tree[] } }).sync.remotes[i]?.['server_url']);
  remotes.forEach((remote, i) => {
    const path = ['sync', 'remotes', i, 'server_url'];
    if (remote.serverUrl === config.local.serverUrl) {
      validator.fail('PDBSYNC_ERR_CONFIG_REMOTE_IS_LOCAL', path, `${written(i)} is the same server as local.server_url (${remote.serverUrl})`);
    }
    const first = remotes.findIndex((r) => r.serverUrl === remote.serverUrl);
    if (first < i) {
      validator.fail('PDBSYNC_ERR_CONFIG_INVALID_VALUE', path, `${written(i)} is the same server as sync.remotes[${first}] (${remote.serverUrl})`);
    }
  });

  return deepFreeze(config);
}

/** From the validated tree (keys as in the file) to the Config interface. */
function toConfig(tree: Tree, file: string): Config {
  const obj = (t: Tree, key: string): Tree => t[key] as Tree;
  const local = obj(tree, 'local');
  const sync = obj(tree, 'sync');
  const tls = tree['tls'] as Tree | undefined;
  const remotes = (sync['remotes'] as Tree[]).map(
    (r): RemoteConfig => ({ serverUrl: r['server_url'] as string, intervalMs: r['interval'] as number }),
  );
  return {
    file,
    local: { serverUrl: local['server_url'] as string },
    sync: {
      remotes,
      nodePurgeTtlMs: sync['node-purge-ttl'] as number,
      requestTimeoutMs: sync['request-timeout'] as number,
      concurrency: sync['concurrency'] as number,
    },
    tls:
      tls === undefined
        ? undefined
        : { certFile: tls['ssl-cert'] as string, keyFile: tls['ssl-key'] as string, caFile: tls['ssl-ca-cert'] as string },
    log: { level: obj(tree, 'log')['level'] as LogLevel },
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
