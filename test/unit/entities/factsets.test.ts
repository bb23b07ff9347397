import { describe, expect, it } from 'vitest';
import { factsetToCommand, factsets, parseFactsetSummary } from '../../../src/entities/factsets.ts';
import { canonical, canonicalFixture, parseFixture } from '../fixtures.ts';

const packages = async () => (await parseFixture('factsets/package-inventory.json')) as unknown[];

/** The fixture, with `change` applied, converted against the summary row of the fixture as it is. */
async function convert(change: Record<string, unknown>, packageRows: unknown[]) {
  const fixture = (await parseFixture('factsets/query-result.json')) as object;
  return factsetToCommand(parseFactsetSummary(fixture), { ...fixture, ...change }, packageRows);
}

describe('factsets: query result -> replace_facts v5', () => {
  it('converts the fixture into the expected payload, numbers and package order included', async () => {
    const command = await convert({}, await packages());
    expect(command).toMatchObject({ command: 'replace_facts', version: 5, certname: 'web01.example.net', producerTimestamp: '2026-11-20T10:00:00.123Z' });
    expect(canonical(command.payload)).toBe(await canonicalFixture('factsets/command-payload.json'));
  });

  it('keeps "__proto__" as an ordinary fact name', async () => {
    const payload = (await convert({}, [])).payload as { values: object };
    expect(Object.keys(payload.values)).toContain('__proto__');
    expect(Object.getPrototypeOf(payload.values)).toBe(Object.prototype);
  });

  it('leaves package_inventory out when the node has none', async () => {
    expect((await convert({}, [])).payload).not.toHaveProperty('package_inventory');
  });

  const malformed: Array<[string, Record<string, unknown>]> = [
    ['no certname', { certname: undefined }],
    ['facts not an object', { facts: 'x' }],
    ['facts.data not an array', { facts: { data: {} } }],
    ['a fact without a name', { facts: { data: [{ value: 1 }] } }],
    ['a fact named twice', { facts: { data: [{ name: 'a', value: 1 }, { name: 'a', value: 2 }] } }],
  ];
  it.each(malformed)('rejects a record with %s', async (_name, change) => {
    await expect(convert(change, [])).rejects.toThrow(/PDBSYNC_ERR_RECORD_MALFORMED/);
  });

  const badPackages: Array<[string, unknown]> = [
    ['without a version', { package_name: 'bash', provider: 'apt' }],
    ['with a numeric name', { package_name: 5, version: '5', provider: 'apt' }],
    ['that is not an object', ['bash', '5', 'apt']],
  ];
  it.each(badPackages)('rejects a package row %s', async (_name, row) => {
    await expect(convert({}, [row])).rejects.toThrow(/PDBSYNC_ERR_RECORD_MALFORMED/);
  });
});

describe('factsets: summary rows', () => {
  it('orders by producer_timestamp, and fingerprints a tie by hash and producer: no identity, the content decides', () => {
    const row = parseFactsetSummary({ certname: 'a', hash: 'ff', producer_timestamp: '2026-11-20T10:00:00.123Z', producer: 'p1' });
    expect(row).toEqual({
      key: 'a',
      certname: 'a',
      hash: 'ff',
      producerTimestamp: '2026-11-20T10:00:00.123Z',
      version: { time: Date.parse('2026-11-20T10:00:00.123Z'), tieBreak: ['ff', 'p1'] },
    });
    expect(factsets.tiesByContent).toBe(true);
  });

  it('fingerprints a factset without a producer by its hash', () => {
    const row = parseFactsetSummary({ certname: 'a', hash: 'ff', producer_timestamp: '2026-11-20T10:00:00.123Z', producer: null });
    expect(row.version).toEqual({ time: Date.parse('2026-11-20T10:00:00.123Z'), tieBreak: ['ff', ''] });
  });

  it('rejects a summary row without a hash', () => {
    expect(() => parseFactsetSummary({ certname: 'a', producer_timestamp: '2026-11-20T10:00:00Z' })).toThrow(/PDBSYNC_ERR_RESPONSE_MALFORMED/);
  });

  it('fetches the record and, on their own, its packages, whatever the node state', () => {
    const row = parseFactsetSummary({ certname: 'a', hash: 'ff', producer_timestamp: '2026-11-20T10:00:00Z', producer: null });
    const anyState = ['and', ['=', 'node_state', 'any'], ['=', 'certname', 'a']];
    expect(factsets.recordQuery(row)).toEqual({ query: ['from', 'factsets', anyState] });
    expect(factsets.recordListQueries?.(row)).toEqual({
      packages: { query: ['from', 'package_inventory', ['extract', ['package_name', 'version', 'provider'], anyState]] },
    });
  });
});
