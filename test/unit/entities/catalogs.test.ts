import { describe, expect, it } from 'vitest';
import { catalogToCommand, catalogs, parseCatalogSummary } from '../../../src/entities/catalogs.ts';
import { canonical, canonicalFixture, parseFixture } from '../fixtures.ts';

/** The fixture, changed by `change`, converted against the summary row of the fixture as it is. */
async function convert(change: (catalog: Record<string, any>) => void = () => undefined) {
  const row = parseCatalogSummary(await parseFixture('catalogs/query-result.json'));
  const catalog = (await parseFixture('catalogs/query-result.json')) as Record<string, any>;
  change(catalog);
  return catalogToCommand(row, catalog);
}

describe('catalogs: query result -> replace_catalog v9', () => {
  it('converts the fixture (a real PuppetDB 7 answer) into the expected payload', async () => {
    const command = (await convert());
    expect(command).toMatchObject({ command: 'replace_catalog', version: 9, certname: 'fixture-web01.example.net', producerTimestamp: '2026-11-20T10:00:00.123Z' });
    expect(canonical(command.payload)).toBe(await canonicalFixture('catalogs/command-payload.json'));
  });

  it('leaves out a null file and line, which would change the catalog hash', async () => {
    const payload = (await convert()).payload as { resources: Array<Record<string, unknown>> };
    const main = payload.resources.find((resource) => resource.title === 'Main')!;
    expect(main).not.toHaveProperty('file');
    expect(main).not.toHaveProperty('line');
  });

  it('reads a catalog without edges (PuppetDB answers data: null)', async () => {
    const payload = (await convert((c) => (c.edges.data = null))).payload;
    expect(payload).toMatchObject({ edges: [] });
  });

  const malformed: Array<[string, (catalog: Record<string, any>) => void]> = [
    ['resources not expanded', (c) => (c.resources = { href: '/x' })],
    ['edges missing', (c) => delete c.edges],
    ['exported not a boolean', (c) => (c.resources.data[0].exported = 'yes')],
    ['tags not an array', (c) => (c.resources.data[0].tags = 'file')],
    ['parameters an array', (c) => (c.resources.data[0].parameters = [])],
    ['a fractional line', (c) => (c.resources.data[0].line = 1.5)],
    ['a resource without a type', (c) => delete c.resources.data[1].type],
    ['an edge without a target', (c) => delete c.edges.data[0].target_title],
    ['no version', (c) => delete c.version],
  ];
  it.each(malformed)('rejects a catalog with %s', async (_name, change) => {
    await expect(convert(change)).rejects.toThrow(/PDBSYNC_ERR_RECORD_MALFORMED/);
  });
});

describe('catalogs: summary rows', () => {
  const base = {
    certname: 'a',
    hash: 'h',
    producer_timestamp: '2026-11-20T10:00:00.000Z',
    catalog_uuid: 'c',
    transaction_uuid: 't',
    version: 'v',
    code_id: null,
    job_id: null,
    environment: 'production',
    producer: 'p',
  };

  it('fingerprints a tie by the hash and every metadata field the hash leaves out: no identity, the content decides', () => {
    expect(parseCatalogSummary(base).version).toEqual({ time: Date.parse('2026-11-20T10:00:00.000Z'), tieBreak: ['h', 'c', 't', 'v', '', '', 'production', 'p'] });
    expect(parseCatalogSummary({ ...base, catalog_uuid: null }).version.tieBreak[1]).toBe('');
    expect(catalogs.tiesByContent).toBe(true);
  });

  it('fetches the record whatever the node state', () => {
    expect(catalogs.recordQuery(parseCatalogSummary(base))).toEqual({
      query: ['from', 'catalogs', ['and', ['=', 'node_state', 'any'], ['=', 'certname', 'a']]],
    });
  });
});
