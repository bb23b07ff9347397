import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { adaptQuery, parseRelease, serverVersion, VERSION_RULES, type ServerTraits } from '../../../src/puppetdb/versions.ts';

describe('the version table', () => {
  it.each([
    ['7.12.1', { nodesExpirationLosesCertnames: false, duplicateReportRace: false }],
    ['8.4.1', { nodesExpirationLosesCertnames: false, duplicateReportRace: false }],
    ['8.5.0', { nodesExpirationLosesCertnames: true, duplicateReportRace: false }],
    ['8.6.9', { nodesExpirationLosesCertnames: true, duplicateReportRace: false }],
    ['8.7.0', { nodesExpirationLosesCertnames: true, duplicateReportRace: true }],
    ['8.8.1', { nodesExpirationLosesCertnames: true, duplicateReportRace: true }],
    ['8.11.0', { nodesExpirationLosesCertnames: true, duplicateReportRace: true }],
    ['8.12.0', { nodesExpirationLosesCertnames: true, duplicateReportRace: false }],
    ['9.0.0-beta1', { nodesExpirationLosesCertnames: true, duplicateReportRace: false }],
    // OpenVoxDB 8.12.0 answers "": unknown, so every adaptation applies.
    ['', { nodesExpirationLosesCertnames: true, duplicateReportRace: true }],
    ['not a version', { nodesExpirationLosesCertnames: true, duplicateReportRace: true }],
  ] as Array<[string, ServerTraits]>)('%s', (text, traits) => {
    expect(serverVersion(text).traits).toEqual(traits);
  });

  it('keeps the text of a version it read, and none of one it could not', () => {
    expect(serverVersion(' 8.8.1 ').version).toBe('8.8.1');
    expect(serverVersion('').version).toBeNull();
    expect(serverVersion(null).version).toBeNull();
    expect(parseRelease('8.12.1-SNAPSHOT')).toEqual([8, 12, 1]);
  });
});

describe('adaptQuery', () => {
  const affected = serverVersion('8.8.1').traits;
  const expiration = {
    query: ['from', 'nodes', ['extract', ['certname', 'expires_facts', 'expires_facts_updated'], ['=', 'node_state', 'any']]],
    options: { include_facts_expiration: true, order_by: [{ field: 'certname', order: 'asc' }] },
  };

  it('also extracts report_timestamp from a server that would drop the join to certnames', () => {
    expect(adaptQuery(expiration, affected)).toEqual({
      ...expiration,
      query: ['from', 'nodes', ['extract', ['certname', 'expires_facts', 'expires_facts_updated', 'report_timestamp'], ['=', 'node_state', 'any']]],
    });
  });

  it('leaves every other query alone', () => {
    const max = { query: ['from', 'nodes', ['extract', [['function', 'max', 'expires_facts_updated']], ['=', 'node_state', 'any']]], options: { include_facts_expiration: true } };
    const joined = { ...expiration, query: ['from', 'nodes', ['extract', ['certname', 'report_timestamp'], ['=', 'node_state', 'any']]] };
    const factsets = { query: ['from', 'factsets', ['extract', ['certname'], ['=', 'node_state', 'any']]], options: { include_facts_expiration: true } };
    for (const spec of [max, joined, factsets, { query: expiration.query }]) expect(adaptQuery(spec, affected)).toBe(spec);
    expect(adaptQuery(expiration, serverVersion('8.4.1').traits)).toBe(expiration);
  });
});

describe('docs/versions.md', () => {
  it('has a row for every rule of the table, and none for another', () => {
    const doc = readFileSync(new URL('../../../docs/versions.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `(\w+)` \|/gm)].map((match) => match[1]);
    expect(rows.sort()).toEqual(VERSION_RULES.map((rule) => rule.trait).sort());
  });
});
