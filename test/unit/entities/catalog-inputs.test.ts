import { describe, expect, it } from 'vitest';
import { catalogInputsToCommand, parseCatalogInputsSummary } from '../../../src/entities/catalog-inputs.ts';
import type { PullReason } from '../../../src/types.ts';
import { canonical, canonicalFixture, parseFixture } from '../fixtures.ts';

/** The fixture, with `change` applied, converted against the summary row of the fixture as it is. */
async function convert(reason: PullReason, change: Record<string, unknown> = {}) {
  const fixture = (await parseFixture('catalog-inputs/query-result.json')) as object;
  return catalogInputsToCommand(parseCatalogInputsSummary(fixture), { ...fixture, ...change }, reason);
}

describe('catalog inputs: query result -> replace_catalog_inputs v1', () => {
  it('converts the fixture, inputs sorted', async () => {
    const command = await convert('missing');
    expect(command).toMatchObject({ command: 'replace_catalog_inputs', version: 1, certname: 'web01.example.net' });
    expect(canonical(command.payload)).toBe(await canonicalFixture('catalog-inputs/command-payload.json'));
  });

  it.each([
    ['inputs missing', { inputs: undefined }],
    ['an input that is not a pair', { inputs: [['hiera']] }],
    ['an input of numbers', { inputs: [[1, 2]] }],
  ])('rejects catalog inputs with %s', async (_name, change) => {
    await expect(convert('newer', change)).rejects.toThrow(/PDBSYNC_ERR_RECORD_MALFORMED/);
  });

  it('writes the winner of a tie 1 ms later, since PuppetDB keeps inputs of equal time', async () => {
    const command = await convert('tie');
    expect(command.producerTimestamp).toBe('2026-11-20T10:00:00.124Z');
    expect(command.payload).toMatchObject({ producer_timestamp: '2026-11-20T10:00:00.124Z' });
  });

  it('breaks ties on the catalog_uuid', () => {
    const row = parseCatalogInputsSummary({ certname: 'a', producer_timestamp: '2026-11-20T10:00:00.000Z', catalog_uuid: 'u' });
    expect(row.version).toEqual({ time: Date.parse('2026-11-20T10:00:00.000Z'), tieBreak: ['u'] });
  });
});
