/**
 * Regenerates the tables of docs/configuration.md from src/config/schema.ts and
 * src/errors.ts. The tables sit between `<!-- BEGIN GENERATED: name -->` and
 * `<!-- END GENERATED: name -->`; the rest of the page is written by hand.
 *
 *   node scripts/gen-config-docs.ts          rewrite the tables
 *   node scripts/gen-config-docs.ts --check  exit 1 if they are out of date
 *
 * test/unit/config.test.ts fails when the tables and the schema disagree.
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { OPTIONS, OPTIONS_BY_KEY, describeType, type OptionSpec } from '../src/config/schema.ts';
import { ERROR_CODES } from '../src/errors.ts';

export const DOC_FILE = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

const cell = (text: string): string => text.replace(/\|/g, '\\|');

function parentKey(key: string): string | undefined {
  if (key.endsWith('[]')) return key.slice(0, -2);
  const dot = key.lastIndexOf('.');
  return dot < 0 ? undefined : key.slice(0, dot);
}

function required(option: OptionSpec): string {
  if (!option.required) return 'no';
  const parent = parentKey(option.key);
  const parentSpec = parent === undefined ? undefined : OPTIONS_BY_KEY.get(parent);
  return parentSpec !== undefined && !parentSpec.required ? `if \`${parent}\` is given` : 'yes';
}

export function renderOptionTable(): string {
  const rows = OPTIONS.map((o) => {
    const def = o.default === undefined ? '' : `\`${String(o.default)}\``;
    return `| \`${o.key}\` | ${cell(describeType(o.type))} | ${required(o)} | ${def} | ${cell(o.doc)} |`;
  });
  return ['| Key | Type | Required | Default | Meaning |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}

export function renderErrorTable(): string {
  const rows = Object.entries(ERROR_CODES)
    .filter(([code]) => code.startsWith('PDBSYNC_ERR_CONFIG_'))
    .map(([code, { message }]) => `| \`${code}\` | ${cell(message)} |`);
  return ['| Code | Message |', '| --- | --- |', ...rows].join('\n');
}

export const GENERATED_BLOCKS: readonly { name: string; render: () => string }[] = [
  { name: 'options', render: renderOptionTable },
  { name: 'config-errors', render: renderErrorTable },
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
  if (start < 0 || stop < 0) throw new Error(`${DOC_FILE}: no "${begin.trim()}" ... "${end.trim()}" markers`);
  return doc.slice(0, start + begin.length) + content + doc.slice(stop);
}

function main(check: boolean): number {
  const doc = readFileSync(DOC_FILE, 'utf8');
  const next = GENERATED_BLOCKS.reduce((d, b) => replaceBlock(d, b.name, b.render()), doc);
  if (next === doc) return 0;
  if (check) {
    console.error(`${DOC_FILE} is out of date: run node scripts/gen-config-docs.ts`);
    return 1;
  }
  writeFileSync(DOC_FILE, next);
  console.log(`updated ${DOC_FILE}`);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.includes('--check'));
}
