import { describe, expect, it } from 'vitest';
import { payloadChunks } from '../../../src/puppetdb/command.ts';
import { parseFixture } from '../fixtures.ts';

describe('payloadChunks', () => {
  const cases: Array<[string, unknown]> = [
    ['an empty object', {}],
    ['members without JSON left out, array holes as null', { a: undefined, b: [undefined, 1, () => 1], c: () => 1, d: 'x' }],
    ['exact numbers and nested arrays', { n: JSON.rawJSON('1.0'), list: [[1, 2], { deep: [JSON.rawJSON('12345678901234567890')] }], empty: [] }],
    ['values with toJSON', { at: new Date(0), list: [new Date(1)] }],
    ['a top-level array', [1, 'a', null]],
    ['null', null],
  ];
  it.each(cases)('writes what JSON.stringify writes: %s', (_name, payload) => {
    expect(Buffer.concat(payloadChunks(payload)).toString()).toBe(JSON.stringify(payload));
  });

  it.each(['catalogs', 'factsets', 'reports', 'catalog-inputs'])('writes the %s fixture as JSON.stringify does', async (entity) => {
    const payload = await parseFixture(`${entity}/command-payload.json`);
    expect(Buffer.concat(payloadChunks(payload)).toString()).toBe(JSON.stringify(payload));
  });
});
