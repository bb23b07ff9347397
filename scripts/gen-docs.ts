/**
 * Regenerates the tables of docs/ that mirror the code: the configuration keys
 * (src/config/schema.ts, the spool's src/config/schema-spool.ts) and the error codes (src/errors.ts). The tables sit between
 * `<!-- BEGIN GENERATED: name -->` and `<!-- END GENERATED: name -->`; the rest of
 * each page is written by hand.
 *
 *   node scripts/gen-docs.ts          rewrite the tables
 *   node scripts/gen-docs.ts --check  exit 1 if they are out of date
 *
 * test/unit/docs.test.ts fails when a table and the code disagree.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { SPOOL_OPTIONS } from '../src/config/schema-spool.ts';
import { SIDECAR_OPTIONS, describeType, type OptionSpec, type OptionTable } from '../src/config/schema.ts';
import { ERROR_CODES } from '../src/errors.ts';

const doc = (name: string): string => fileURLToPath(new URL(`../docs/${name}`, import.meta.url));

const cell = (text: string): string => text.replace(/\|/g, '\\|');

function parentKey(key: string): string | undefined {
  if (key.endsWith('[]')) return key.slice(0, -2);
  const dot = key.lastIndexOf('.');
  return dot < 0 ? undefined : key.slice(0, dot);
}

function required(option: OptionSpec, table: OptionTable): string {
  const parent = parentKey(option.key);
  if (option.requiredWith !== undefined) {
    const siblings = option.requiredWith.map((name) => `\`${parent}.${name}\``);
    return `with ${siblings.length > 1 ? `${siblings.slice(0, -1).join(', ')} or ${siblings.at(-1)}` : siblings[0]}`;
  }
  if (!option.required) return 'no';
  const parentSpec = parent === undefined ? undefined : table.byKey.get(parent);
  return parentSpec !== undefined && !parentSpec.required ? `if \`${parent}\` is given` : 'yes';
}

/** The keys of one kind of file: the sidecar's by default, the spool's with SPOOL_OPTIONS. */
export function renderOptionTable(table: OptionTable = SIDECAR_OPTIONS): string {
  const rows = table.options.map((o) => {
    const def = o.default === undefined ? '' : `\`${String(o.default)}\``;
    return `| \`${o.key}\` | ${cell(describeType(o.type))} | ${required(o, table)} | ${def} | ${cell(o.doc)} |`;
  });
  return ['| Key | Type | Required | Default | Meaning |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

export function renderConfigErrorTable(): string {
  const rows = Object.entries(ERROR_CODES)
    .filter(([code]) => code.startsWith('PDBSYNC_ERR_CONFIG_'))
    .map(([code, { message }]) => `| \`${code}\` | ${cell(message)} |`);
  return ['| Code | Message |', '| --- | --- |', ...rows].join('\n');
}

export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, { message, retryable }]) => `| \`${code}\` | ${cell(message)} | ${retryable ? 'yes' : 'no'} |`,
  );
  return ['| Code | Message | Retryable |', '| --- | --- | --- |', ...rows].join('\n');
}

export interface GeneratedBlock {
  readonly file: string;
  readonly name: string;
  readonly render: () => string;
}

export const GENERATED_BLOCKS: readonly GeneratedBlock[] = [
  { file: doc('configuration.md'), name: 'options', render: () => renderOptionTable() },
  { file: doc('configuration.md'), name: 'spool-options', render: () => renderOptionTable(SPOOL_OPTIONS) },
  { file: doc('configuration.md'), name: 'config-errors', render: renderConfigErrorTable },
  { file: doc('operations.md'), name: 'errors', render: renderErrorTable },
];

const markers = (name: string): [string, string] => [`<!-- BEGIN GENERATED: ${name} -->\n`, `\n<!-- END GENERATED: ${name} -->`];

/** The text between the markers of block `name`, or undefined when the markers are missing. */
export function extractBlock(doc: string, name: string): string | undefined {
  const [begin, end] = markers(name);
  const start = doc.indexOf(begin);
  const stop = doc.indexOf(end, start);
  return start < 0 || stop < 0 ? undefined : doc.slice(start + begin.length, stop);
}

export function replaceBlock(doc: string, name: string, content: string): string {
  const [begin, end] = markers(name);
  const start = doc.indexOf(begin);
  const stop = doc.indexOf(end, start);
  if (start < 0 || stop < 0) throw new Error(`no "${begin.trim()}" ... "${end.trim()}" markers`);
  return doc.slice(0, start + begin.length) + content + doc.slice(stop);
}

function main(check: boolean): number {
  let stale = 0;
  for (const file of new Set(GENERATED_BLOCKS.map((block) => block.file))) {
    const text = readFileSync(file, 'utf8');
    const next = GENERATED_BLOCKS.filter((block) => block.file === file).reduce((t, b) => replaceBlock(t, b.name, b.render()), text);
    if (next === text) continue;
    if (check) {
      console.error(`${file} is out of date: run node scripts/gen-docs.ts`);
      stale++;
    } else {
      writeFileSync(file, next);
      console.log(`updated ${file}`);
    }
  }
  return stale > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.includes('--check'));
}
