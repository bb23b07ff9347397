/**
 * Parsing of the configuration text as HOCON: include/require and value transforms are
 * refused, the text is resolved with the parser's Context, and the line of every key and
 * value is taken from the parser's node tree. Parse errors are SyncErrors with a
 * one-line message ending in the file, line and column.
 */

import { createRequire } from 'node:module';

import { SyncError } from '../errors.ts';

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

export type Path = readonly (string | number)[];

/** Where each key and value of a configuration was written: its file and line. */
export interface SourceMap {
  /** Line of the key itself (for unknown keys). */
  keyLine(path: Path): number;
  /** Line of the value, else of its key, else of the nearest ancestor written, else 1. */
  line(path: Path): number;
  /** The file `path` (or its nearest ancestor written) comes from. */
  file(path: Path): string;
  /** Whether `path` itself was written. */
  has(path: Path): boolean;
}

/**
 * Several files merged into one configuration, the first over the rest: a path comes
 * from the first layer that wrote it or its nearest ancestor.
 */
export class LayeredSources implements SourceMap {
  private readonly layers: readonly SourceMap[];

  constructor(layers: readonly SourceMap[]) {
    this.layers = layers;
  }

  keyLine(path: Path): number {
    return this.layerOf(path).keyLine(path);
  }

  line(path: Path): number {
    return this.layerOf(path).line(path);
  }

  file(path: Path): string {
    return this.layerOf(path).file(path);
  }

  has(path: Path): boolean {
    return this.layers.some((layer) => layer.has(path));
  }

  private layerOf(path: Path): SourceMap {
    for (let p = path; p.length > 0; p = p.slice(0, -1)) {
      const layer = this.layers.find((l) => l.has(p));
      if (layer) return layer;
    }
    return this.layers[0]!;
  }
}

/**
 * Line of every key and value, by path. The parser gives no positions in its result,
 * but its node tree (kept on the Context after resolution) holds the tokens, so the
 * lines come from there rather than from scanning the text: dotted keys
 * (`sync.node-purge-ttl = 14d`), nested and quoted keys, and array elements are then
 * all found exactly as the parser understood them. When a key is defined more than once
 * the last definition is recorded, as it is the one whose value counts.
 */
export class Positions implements SourceMap {
  private readonly keys = new Map<string, number>();
  private readonly values = new Map<string, number>();
  private readonly source: string;

  constructor(file: string) {
    this.source = file;
  }

  static of(root: HoconNode | null, file: string): Positions {
    const positions = new Positions(file);
    if (root instanceof ObjectNode) positions.object(root, []);
    return positions;
  }

  /** Records a key written at `line` (other formats than HOCON: PuppetDB's ini files). */
  record(path: Path, line: number): void {
    this.keys.set(JSON.stringify(path), line);
  }

  file(): string {
    return this.source;
  }

  has(path: Path): boolean {
    const id = JSON.stringify(path);
    return this.keys.has(id) || this.values.has(id);
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

export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ');
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
// Entry point

/** The value the text resolves to, with the positions of its keys and values. */
export async function parseHocon(text: string, file: string): Promise<{ value: unknown; positions: Positions }> {
  refuseIncludesAndTransforms(text, file);
  // The Context is used directly rather than the package's default export, which also
  // loads "plugins" named in the main module's package.json.
  const context = new hocon.Context({ text, strict: true });
  let value: unknown;
  try {
    value = await context.resolve();
  } catch (error) {
    throw parseError(error, file);
  }
  return { value, positions: Positions.of(context.node, file) };
}
