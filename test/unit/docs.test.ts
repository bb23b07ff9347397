import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_BLOCKS, extractBlock } from '../../scripts/gen-docs.ts';
import { OPTIONS } from '../../src/config/schema.ts';
import { SPOOL_OPTION_LIST } from '../../src/config/schema-spool.ts';
import { ERROR_CODES } from '../../src/errors.ts';

const read = (name: string): string => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

describe('docs that mirror the code', () => {
  it.each(GENERATED_BLOCKS)('$name in $file is what scripts/gen-docs.ts generates (run it after changing the code)', ({ file, name, render }) => {
    expect(extractBlock(readFileSync(file, 'utf8'), name)).toBe(render());
  });

  it('the configuration reference names every key of the schema', () => {
    const doc = read('configuration.md');
    for (const option of OPTIONS) expect(doc).toContain(`\`${option.key}\``);
  });

  it('the configuration reference has a table of the spool\'s keys', () => {
    const doc = read('configuration.md');
    const table = doc.slice(doc.indexOf('<!-- BEGIN GENERATED: spool-options -->'), doc.indexOf('<!-- END GENERATED: spool-options -->'));
    for (const option of SPOOL_OPTION_LIST) expect(table).toContain(`| \`${option.key}\` |`);
  });

  it('the operations page lists exactly the codes of src/errors.ts', () => {
    const listed = new Set(read('operations.md').match(/PDBSYNC_ERR_[A-Z_]+/g));
    expect([...listed].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('the source uses no code that is not in the table', () => {
    const used = new Set<string>();
    const src = new URL('../../src/', import.meta.url);
    for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'))) {
      for (const [, code] of readFileSync(new URL(file, src), 'utf8').matchAll(/'(PDBSYNC_ERR_[A-Z_]+)'/g)) used.add(code!);
    }
    expect(used.size).toBeGreaterThan(10);
    // A code ending in "_" is a prefix (a family of codes), not a code.
    for (const code of [...used].filter((name) => !name.endsWith('_'))) expect(Object.keys(ERROR_CODES), code).toContain(code);
  });
});
