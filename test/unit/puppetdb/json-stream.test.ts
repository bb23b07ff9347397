import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { preserveNumber, streamJsonArray } from '../../../src/puppetdb/json-stream.ts';

async function parse(chunks: string[]): Promise<string> {
  const out: unknown[] = [];
  for await (const element of streamJsonArray(Readable.from(chunks), 'test')) out.push(element);
  return JSON.stringify(out);
}

describe('streamJsonArray', () => {
  const good: Array<[string, string[], string]> = [
    ['empty array', ['[]'], '[]'],
    ['elements split across chunks', ['[{"a":', '1},{"b"', ':[2,3]}]'], '[{"a":1},{"b":[2,3]}]'],
    ['null elements are kept', ['[null,1,null]'], '[null,1,null]'],
    ['1.0 stays 1.0', ['[{"x":1.0,"y":0.0}]'], '[{"x":1.0,"y":0.0}]'],
    ['integers past 2^53 stay exact', ['[12345678901234567890]'], '[12345678901234567890]'],
    ['exponents stay as written', ['[1e3,-0]'], '[1e3,-0]'],
  ];
  it.each(good)('%s', async (_name, chunks, expected) => {
    expect(await parse(chunks)).toBe(expected);
  });

  const bad: Array<[string, string[]]> = [
    ['truncated', ['[{"a":1},{"b":']],
    ['not an array', ['{"a":1}']],
    ['garbage', ['[1,,2]']],
    ['nothing at all', ['']],
  ];
  it.each(bad)('fails on %s with PDBSYNC_ERR_RESPONSE_MALFORMED', async (_name, chunks) => {
    await expect(parse(chunks)).rejects.toThrow(/PDBSYNC_ERR_RESPONSE_MALFORMED/);
  });
});

describe('preserveNumber', () => {
  it.each([
    ['42', 42],
    ['-1.5', -1.5],
    ['0', 0],
  ])('%s is a plain number', (lexeme, value) => {
    expect(preserveNumber(lexeme)).toBe(value);
  });
});
