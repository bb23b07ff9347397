import { describe, expect, it } from 'vitest';
import type { Entity, QuerySource } from '../../../src/entities/entity.ts';
import type { QuerySpec } from '../../../src/puppetdb/client.ts';
import { ENTITIES } from '../../../src/wiring.ts';
import { summaryContext } from '../fixtures.ts';

/** Records every query and answers none. */
function recorder(): QuerySource & { specs: QuerySpec[] } {
  const specs: QuerySpec[] = [];
  return {
    specs,
    async *query(spec: QuerySpec) {
      specs.push(spec);
    },
  };
}

async function drain(rows: AsyncIterable<unknown>): Promise<void> {
  for await (const _row of rows) void _row;
}

const byName = (name: string): Entity => ENTITIES.find((entity) => entity.name === name)!;
const context = summaryContext();
const since = Date.parse('2026-11-21T12:00:00.000Z');
const text = (spec: QuerySpec) => JSON.stringify(spec.query);

describe('incremental queries', () => {
  it.each([
    ['factsets', ['">=","timestamp","2026-11-21T11:55:00.000Z"']],
    ['reports', ['">=","receive_time","2026-11-21T11:55:00.000Z"', '">=","producer_timestamp","2026-11-21T11:00:00.000Z"', '">","producer_timestamp","2026-11-08T00:00:00.000Z"']],
    ['catalog-inputs', ['">=","producer_timestamp","2026-11-21T11:00:00.000Z"']],
  ])('%s reads from the watermark less the overlap (receive times) or the late-arrival window (producer times)', async (name, bounds) => {
    const remote = recorder();
    await drain(byName(name).changes(remote, since, context));
    expect(remote.specs).toHaveLength(1);
    for (const bound of bounds) expect(text(remote.specs[0]!)).toContain(bound);
    expect(text(remote.specs[0]!)).toContain('"node_state","any"');
  });

  it('catalogs list the summaries of the nodes whose catalog_timestamp is in the window in one query, each standing for the newest catalog_timestamp read before', async () => {
    const newestCatalog = '2026-11-21T12:03:00.000Z';
    const specs: QuerySpec[] = [];
    const remote: QuerySource = {
      async *query(spec) {
        specs.push(spec);
        if (specs.length === 1) yield { max: newestCatalog };
        else yield { certname: 'a', hash: 'h', producer_timestamp: '2026-11-01T00:00:00.000Z' };
      },
    };
    const changes = [];
    for await (const change of byName('catalogs').changes(remote, since, context)) changes.push(change);
    expect(text(specs[0]!)).toBe('["from","nodes",["extract",[["function","max","catalog_timestamp"]],["=","node_state","any"]]]');
    expect(specs).toHaveLength(2);
    expect(text(specs[1]!)).toMatch(/^\["from","catalogs",/);
    expect(text(specs[1]!)).toContain('["in","certname",["extract","certname",["select_nodes",["and",["=","node_state","any"],[">=","catalog_timestamp","2026-11-21T11:55:00.000Z"]]]]]');
    expect(changes).toEqual([expect.objectContaining({ row: expect.objectContaining({ key: 'a' }), mark: Date.parse(newestCatalog) })]);
  });

  it('catalogs of a remote that holds none cost one query', async () => {
    const remote = recorder();
    await drain(byName('catalogs').changes(remote, since, context));
    expect(remote.specs).toHaveLength(1);
  });

  it('reports on the relay beat read what arrived since, whatever its producer time (records relayed through another server)', async () => {
    const remote = recorder();
    await drain(byName('reports').relayedChanges!(remote, since, context));
    expect(text(remote.specs[0]!)).toContain('">=","receive_time","2026-11-21T11:55:00.000Z"');
    expect(text(remote.specs[0]!)).not.toContain('">=","producer_timestamp"');
    expect(text(remote.specs[0]!)).toContain('">","producer_timestamp","2026-11-08T00:00:00.000Z"');
  });

  it('catalog inputs on the relay beat read every node\'s: they carry no receive time', async () => {
    const remote = recorder();
    await drain(byName('catalog-inputs').relayedChanges!(remote, since, context));
    expect(text(remote.specs[0]!)).not.toContain('>=');
  });

  it.each([['factsets'], ['catalogs'], ['fact-expiration'], ['nodes']])('%s has no relay scan: its changes see every row received since, relayed or not', (name) => {
    expect(byName(name).relayedChanges).toBeUndefined();
  });

  it.each([['fact-expiration'], ['nodes']])('%s reads its whole short list on every pass: PuppetDB keeps no receive time of it', async (name) => {
    const remote = recorder();
    await drain(byName(name).changes(remote, since, context));
    expect(remote.specs).toHaveLength(1);
    expect(text(remote.specs[0]!)).not.toContain('>=');
  });

  it.each(ENTITIES.map((entity) => [entity.name]))('%s with no watermark reads every row, with no time bound of its own', async (name) => {
    const remote = recorder();
    await drain(byName(name).changes(remote, null, context));
    expect(text(remote.specs[0]!)).not.toMatch(/">=","(timestamp|catalog_timestamp|receive_time|deactivated|expires_facts_updated)"/);
  });

  it.each(ENTITIES.map((entity) => [entity.name]))('%s looks a batch up by key in one query per kind of data', async (name) => {
    const local = recorder();
    const rows = ['a', 'b'].map((key) => ({ key, certname: key, hash: key, transactionUuid: null, deactivated: null, version: { time: since, tieBreak: [] } }));
    await drain(byName(name).counterparts(local, rows as never, context));
    for (const spec of local.specs) expect(text(spec)).toMatch(/\["in","(certname|hash)",\["array",\["a","b"\]\]\]/);
    expect(local.specs.length).toBeGreaterThanOrEqual(1);
  });

  it('looks reports up by transaction_uuid, and by hash those that have none', async () => {
    const local = recorder();
    const row = (hash: string, transactionUuid: string | null) => ({ key: hash, certname: 'a', hash, transactionUuid, version: { time: since, tieBreak: [hash] } });
    await drain(byName('reports').counterparts(local, [row('a', 'u1'), row('b', null), row('c', 'u2')] as never, context));
    expect(local.specs).toHaveLength(1);
    expect(text(local.specs[0]!)).toContain('["or",["in","transaction_uuid",["array",["u1","u2"]]],["in","hash",["array",["b"]]]]');
  });
});
