import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_NESTING, preserveNumber, streamJsonArray } from '../../../src/puppetdb/json-stream.ts';

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
    ['whitespace anywhere', [' [ {"a" : [ 1 , 2 ] } ,\n"x" ]\n'], '[{"a":[1,2]},"x"]'],
    ['brackets, commas and escaped quotes inside strings', [JSON.stringify([{ s: '],[{"\\', t: '}' }])], JSON.stringify([{ s: '],[{"\\', t: '}' }])],
  ];
  it.each(good)('%s', async (_name, chunks, expected) => {
    expect(await parse(chunks)).toBe(expected);
  });

  const bad: Array<[string, string[]]> = [
    ['truncated', ['[{"a":1},{"b":']],
    ['not an array', ['{"a":1}']],
    ['garbage', ['[1,,2]']],
    ['nothing at all', ['']],
    ['a trailing comma', ['[1,]']],
    ['a leading comma', ['[,1]']],
    ['a missing comma', ['[1 {"a":1}]']],
    ['a missing comma after an object', ['[{"a":1} 2]']],
    ['more after the array', ['[1] [2]']],
    ['an unterminated string', ['["abc]']],
  ];
  it.each(bad)('fails on %s with PDBSYNC_ERR_RESPONSE_MALFORMED', async (_name, chunks) => {
    await expect(parse(chunks)).rejects.toThrow(/PDBSYNC_ERR_RESPONSE_MALFORMED/);
  });
});

describe('streamJsonArray chunk boundaries', () => {
  it('reads the same elements whatever byte the response is split at', async () => {
    const text = JSON.stringify([{ s: '],[{"\\', n: 1 }, 'é', [[], {}], null, 12.5]);
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const out: unknown[] = [];
      for await (const element of streamJsonArray(Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]), 'test')) out.push(element);
      expect(JSON.stringify(out)).toBe(text);
    }
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

describe('streamJsonArray size limit', () => {
  it('fails a response past the limit with PDBSYNC_ERR_RECORD_TOO_LARGE', async () => {
    const big = `[${JSON.stringify({ data: 'x'.repeat(5000) })}]`;
    const parse = async () => {
      for await (const element of streamJsonArray(Readable.from([big.slice(0, 2000), big.slice(2000)]), 'test', 4096)) void element;
    };
    await expect(parse()).rejects.toThrow(/PDBSYNC_ERR_RECORD_TOO_LARGE/);
  });

  it('counts bytes, not characters, and keeps characters split across chunks whole', async () => {
    const text = JSON.stringify(['é'.repeat(10)]);
    const bytes = Buffer.from(text);
    const chunks = [bytes.subarray(0, 3), bytes.subarray(3)]; // byte 3 is inside the first "é"
    const out: unknown[] = [];
    for await (const element of streamJsonArray(Readable.from(chunks), 'test', bytes.length)) out.push(element);
    expect(out).toEqual(['é'.repeat(10)]);
    await expect(async () => {
      for await (const element of streamJsonArray(Readable.from([bytes]), 'test', bytes.length - 1)) void element;
    }).rejects.toThrow(/PDBSYNC_ERR_RECORD_TOO_LARGE/);
  });
});

describe('streamJsonArray nesting limit', () => {
  const nested = (depth: number, open: string, close: string, inner = '1') => `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

  it.each([
    ['arrays', nested(MAX_NESTING, '[', ']')],
    ['objects', nested(MAX_NESTING, '{"a":', '}')],
    ['arrays around a number kept exact', nested(MAX_NESTING, '[', ']', '1.0')],
  ])('reads %s nested as deep as the limit', async (_name, element) => {
    expect(await parse([`[1,${element}]`])).toBe(`[1,${element}]`);
  });

  it.each([
    ['arrays one level past the limit', nested(MAX_NESTING + 1, '[', ']')],
    ['objects one level past the limit', nested(MAX_NESTING + 1, '{"a":', '}')],
    ['arrays 100,000 deep', nested(100_000, '[', ']')],
    ['objects 100,000 deep around a number kept exact', nested(100_000, '{"a":', '}', '1.0')],
    ['an unclosed nesting 100,000 deep', '['.repeat(100_000)],
  ])('fails %s with PDBSYNC_ERR_RESPONSE_MALFORMED, not a stack overflow', async (_name, element) => {
    await expect(parse([`[1,${element}]`])).rejects.toThrow(new RegExp(`^PDBSYNC_ERR_RESPONSE_MALFORMED: .*element 2 is nested deeper than ${MAX_NESTING} levels`));
  });

  it('fails a nesting split across chunks at the same byte', async () => {
    const element = nested(MAX_NESTING + 1, '[', ']');
    await expect(parse(['[', element.slice(0, 60), element.slice(60)])).rejects.toThrow(/nested deeper/);
  });
});
