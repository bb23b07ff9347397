import { describe, expect, it } from 'vitest';
import { factsetToCommand, factsets, parseFactsetSummary } from '../../../src/entities/factsets.ts';
import { canonical, canonicalFixture, parseFixture } from '../fixtures.ts';

describe('factsets: query result -> replace_facts v5', () => {
  it('converts the fixture into the expected payload, numbers and package order included', async () => {
    const command = factsetToCommand(await parseFixture('factsets/query-result.json'));
    expect(command).toMatchObject({ command: 'replace_facts', version: 5, certname: 'web01.example.net', producerTimestamp: '2026-11-20T10:00:00.123Z' });
    expect(canonical(command.payload)).toBe(await canonicalFixture('factsets/command-payload.json'));
  });

  it('keeps "__proto__" as an ordinary fact name', async () => {
    const payload = factsetToCommand(await parseFixture('factsets/query-result.json')).payload as { values: object };
    expect(Object.keys(payload.values)).toContain('__proto__');
    expect(Object.getPrototypeOf(payload.values)).toBe(Object.prototype);
  });

  it('leaves package_inventory out when the node has none', async () => {
    const record = { ...((await parseFixture('factsets/query-result.json')) as object), package_inventory: null };
    expect(factsetToCommand(record).payload).not.toHaveProperty('package_inventory');
  });

  const malformed: Array<[string, Record<string, unknown>]> = [
    ['no certname', { certname: undefined }],
    ['facts not an object', { facts: 'x' }],
    ['facts.data not an array', { facts: { data: {} } }],
    ['a fact without a name', { facts: { data: [{ value: 1 }] } }],
    ['a fact named twice', { facts: { data: [{ name: 'a', value: 1 }, { name: 'a', value: 2 }] } }],
    ['a bad producer_timestamp', { producer_timestamp: 'yesterday' }],
    ['a package that is not a triple', { package_inventory: [['bash', '5']] }],
    ['package_inventory not an array', { package_inventory: 'bash' }],
  ];
  it.each(malformed)('rejects a record with %s', async (_name, change) => {
    const record = { ...((await parseFixture('factsets/query-result.json')) as object), ...change };
    expect(() => factsetToCommand(record)).toThrow(/PDBSYNC_ERR_RECORD_MALFORMED/);
  });
});

describe('factsets: summary rows', () => {
  it('orders by producer_timestamp, then hash, then producer', () => {
    const row = parseFactsetSummary({ certname: 'a', hash: 'ff', producer_timestamp: '2026-11-20T10:00:00.123Z', producer: 'p1' });
    expect(row).toEqual({
      key: 'a',
      certname: 'a',
      hash: 'ff',
      producerTimestamp: '2026-11-20T10:00:00.123Z',
      version: { time: Date.parse('2026-11-20T10:00:00.123Z'), tieBreak: ['ff', 'p1'] },
    });
  });

  it('rejects a summary row without a hash', () => {
    expect(() => parseFactsetSummary({ certname: 'a', producer_timestamp: '2026-11-20T10:00:00Z' })).toThrow(/PDBSYNC_ERR_RESPONSE_MALFORMED/);
  });

  it('fetches the record with its package inventory and whatever the node state', () => {
    const row = parseFactsetSummary({ certname: 'a', hash: 'ff', producer_timestamp: '2026-11-20T10:00:00Z', producer: null });
    expect(factsets.recordQuery(row)).toEqual({
      query: ['from', 'factsets', ['and', ['=', 'node_state', 'any'], ['=', 'certname', 'a']]],
      options: { include_package_inventory: true },
    });
  });
});
