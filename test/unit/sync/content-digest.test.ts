import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { catalogs, catalogToCommand, parseCatalogSummary } from '../../../src/entities/catalogs.ts';
import { streamJsonArray } from '../../../src/puppetdb/json-stream.ts';
import { canonicalJson, contentDigest } from '../../../src/sync/content-digest.ts';
import { parseFixture } from '../fixtures.ts';

/** Parses JSON as the client parses a PuppetDB response: numbers kept exact. */
async function parsed(json: string): Promise<unknown> {
  for await (const element of streamJsonArray(Readable.from([`[${json}]`]), 'test')) return element;
  throw new Error('empty');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('canonicalJson', () => {
  const cases: Array<[string, string, string]> = [
    ['keys in code-unit order, at every level', '{"b":1,"a":{"z":[{"y":1,"x":2}],"B":null}}', '{"a":{"B":null,"z":[{"x":2,"y":1}]},"b":1}'],
    ['arrays keep their order', '[3,1,2]', '[3,1,2]'],
    ['a number kept exact keeps its text', '{"one":1.0,"big":12345678901234567890,"e":1e3}', '{"big":12345678901234567890,"e":1e3,"one":1.0}'],
    ['a number a JS number prints alike is a number', '[1,-0.5,2.25]', '[1,-0.5,2.25]'],
    ['strings escaped as JSON.stringify does', '{"k\\"ey":"line\\nbreak \\u00e9"}', '{"k\\"ey":"line\\nbreak é"}'],
    ['empty objects and arrays', '{"a":{},"b":[]}', '{"a":{},"b":[]}'],
    ['scalars', '[true,false,null,"x"]', '[true,false,null,"x"]'],
  ];
  it.each(cases)('%s', async (_name, json, expected) => {
    expect(canonicalJson(await parsed(json))).toBe(expected);
  });

  it('leaves out members without a JSON value, as JSON.stringify does', () => {
    expect(canonicalJson({ b: undefined, a: 1, c: () => 1 })).toBe('{"a":1}');
    expect(canonicalJson({ a: undefined })).toBe('{}');
    expect(canonicalJson([undefined])).toBe('[null]');
  });
});

describe('contentDigest', () => {
  it('is the sha256 of the canonical text, in hex', () => {
    expect(contentDigest({ b: 'x', a: [1, 2] })).toBe(sha256('{"a":[1,2],"b":"x"}'));
  });

  it('is the same whatever order the keys came in', async () => {
    expect(contentDigest(await parsed('{"a":1,"b":{"c":2,"d":3}}'))).toBe(contentDigest(await parsed('{"b":{"d":3,"c":2},"a":1}')));
  });

  it('tells 1.0 from 1, as PuppetDB does', async () => {
    expect(contentDigest(await parsed('{"v":1.0}'))).not.toBe(contentDigest(await parsed('{"v":1}')));
  });

  it('covers content written in many pieces', () => {
    const values = Array.from({ length: 20_000 }, (_, i) => `value-${i}`);
    expect(contentDigest({ values })).toBe(sha256(JSON.stringify({ values })));
  });
});

describe('catalogs: the content a tie compares', () => {
  async function command(change: (catalog: Record<string, any>) => void = () => undefined) {
    const row = parseCatalogSummary(await parseFixture('catalogs/query-result.json'));
    const catalog = (await parseFixture('catalogs/query-result.json')) as Record<string, any>;
    change(catalog);
    return catalogToCommand(row, catalog);
  }
  const digest = async (change?: (catalog: Record<string, any>) => void) => contentDigest(catalogs.tieContent!(await command(change)));

  it('does not depend on the order resources, edges and tags are listed in', async () => {
    const listed = await digest();
    expect(await digest((c) => c.resources.data.reverse())).toBe(listed);
    expect(await digest((c) => c.edges.data.reverse())).toBe(listed);
    expect(await digest((c) => (c.resources.data[0].tags = ['zz', ...c.resources.data[0].tags]))).toBe(
      await digest((c) => c.resources.data[0].tags.push('zz')),
    );
  });

  it('changes with a resource parameter, an edge or the metadata', async () => {
    const listed = await digest();
    expect(await digest((c) => (c.resources.data[0].parameters = { ...c.resources.data[0].parameters, ensure: 'absent' }))).not.toBe(listed);
    expect(await digest((c) => (c.edges.data[0].relationship = 'before'))).not.toBe(listed);
    expect(await digest((c) => (c.producer = 'another.example.net'))).not.toBe(listed);
  });

  it('leaves the command itself as it was', async () => {
    const converted = await command();
    const resources = [...(converted.payload as { resources: unknown[] }).resources];
    catalogs.tieContent!(converted);
    expect((converted.payload as { resources: unknown[] }).resources).toEqual(resources);
  });
});
