import { describe, expect, it } from 'vitest';
import { catalogs, parseCatalogSummary, type CatalogRow } from '../../../src/entities/catalogs.ts';
import type { Entity } from '../../../src/entities/entity.ts';
import { factsets, parseFactsetSummary, type FactsetRow } from '../../../src/entities/factsets.ts';
import type { QuerySpec } from '../../../src/puppetdb/client.ts';
import { resolveContentTie, TieMemo, type TieSides } from '../../../src/sync/content-tie.ts';
import type { RecordSource } from '../../../src/sync/record-fetch.ts';
import type { SummaryRow } from '../../../src/types.ts';
import { parseFixture } from '../fixtures.ts';
import { factsetRecord, queryKind } from './fake-puppetdb.ts';

const REMOTE = 'http://remote.example.net:8080';
const LOCAL = 'http://local.example.net:8080';
const T = '2026-11-21T10:00:00.000Z';

type Held = Record<string, unknown> & { package_inventory?: unknown[] };

/** A server holding one record (a factset's package_inventory answering its list query); every query it answers is noted in `reads`. */
function holding(url: string, record: Held, reads: string[]): RecordSource {
  const { package_inventory: packages = [], ...whole } = record;
  return {
    url,
    async *queryRecord(spec: QuerySpec) {
      const { entity } = queryKind(spec.query as unknown[]);
      reads.push(`${url} ${entity}`);
      yield* entity === 'package_inventory' ? packages : [whole];
    },
  };
}

/** A factset record as a server holds it: the same node and time, `change` applied, hashed by `hash`. */
const factset = (hash: string, change: Record<string, unknown> = {}): Held => ({ ...factsetRecord('web01', T), hash, ...change });

async function resolve<Row extends SummaryRow>(entity: Entity<Row>, parse: (raw: unknown) => Row, remote: Held, local: Held, memo?: TieMemo) {
  const reads: string[] = [];
  const sides: TieSides = { remote: holding(REMOTE, remote, reads), local: holding(LOCAL, local, reads), maxRecordBytes: 1 << 20 };
  const tie = await resolveContentTie(entity, parse(remote), parse(local), sides, memo);
  return { ...tie, reads };
}

const resolveFactsets = (remote: Held, local: Held, memo?: TieMemo) => resolve<FactsetRow>(factsets, parseFactsetSummary, remote, local, memo);

describe('resolveContentTie', () => {
  it('finds the same content, hashed otherwise, equal: both records read, nothing to submit', async () => {
    const tie = await resolveFactsets(factset('hash-of-7.4'), factset('hash-of-7.12'));
    expect(tie.verdict).toBe('equal');
    expect(tie.remote).toBeUndefined();
    expect(tie.reads).toEqual([`${LOCAL} factsets`, `${LOCAL} package_inventory`, `${REMOTE} factsets`, `${REMOTE} package_inventory`]);
  });

  it('picks one winner for different content, whichever side holds it', async () => {
    const web = factset('h1', { facts: { data: [{ name: 'role', value: 'web' }] } });
    const db = factset('h2', { facts: { data: [{ name: 'role', value: 'db' }] } });
    const [one, other] = [await resolveFactsets(web, db), await resolveFactsets(db, web)];
    expect([one.verdict, other.verdict].sort()).toEqual(['local-wins', 'remote-wins']);
    const won = one.verdict === 'remote-wins' ? one : other;
    expect(won.remote?.row.hash).toBe(won === one ? 'h1' : 'h2');
  });

  it('tells apart content that differs only in the producer, or in a number written 1.0 rather than 1', async () => {
    expect((await resolveFactsets(factset('h', { producer: 'puppet-a' }), factset('h', { producer: 'puppet-b' }))).verdict).not.toBe('equal');
    const exact = { facts: { data: [{ name: 'load', value: JSON.rawJSON('1.0') }] } };
    expect((await resolveFactsets(factset('h1', exact), factset('h2', { facts: { data: [{ name: 'load', value: 1 }] } }))).verdict).not.toBe('equal');
  });

  it('does not depend on the order a server lists packages, resources or edges in', async () => {
    const packages = [
      { package_name: 'bash', version: '5.2', provider: 'apt' },
      { package_name: 'zsh', version: '5.9', provider: 'apt' },
    ];
    expect((await resolveFactsets(factset('h1', { package_inventory: packages }), factset('h2', { package_inventory: [...packages].reverse() }))).verdict).toBe('equal');

    const catalog = (await parseFixture('catalogs/query-result.json')) as Record<string, any>;
    const reordered = { ...catalog, hash: 'other', resources: { data: [...catalog.resources.data].reverse() }, edges: { data: [...catalog.edges.data].reverse() } };
    expect((await resolve<CatalogRow>(catalogs, parseCatalogSummary, catalog, reordered)).verdict).toBe('equal');
  });

  it('fails when the local record is not the one its row names any more', async () => {
    const reads: string[] = [];
    const sides = { remote: holding(REMOTE, factset('h1'), reads), local: holding(LOCAL, factset('changed'), reads), maxRecordBytes: 1 << 20 };
    await expect(resolveContentTie(factsets, parseFactsetSummary(factset('h1')), parseFactsetSummary(factset('h2')), sides)).rejects.toThrow(/PDBSYNC_ERR_RECORD_MISMATCH/);
  });
});

describe('TieMemo', () => {
  it('decides a pair once: the next time, neither record is read', async () => {
    const memo = new TieMemo();
    const web = factset('h1');
    const db = factset('h2', { facts: { data: [{ name: 'role', value: 'db' }] } });
    const first = await resolveFactsets(web, db, memo);
    const again = await resolveFactsets(web, db, memo);
    expect(again).toEqual({ verdict: first.verdict, reads: [] });
    expect((await resolveFactsets(factset('h1'), factset('h3'), memo)).reads).not.toEqual([]);
    expect(memo.size).toBe(2);
  });

  it('keys a verdict by entity, remote, key and both versions', () => {
    const memo = new TieMemo();
    const row = (key: string, hash: string): SummaryRow => ({ key, certname: key, version: { time: 1, tieBreak: [hash] } });
    memo.remember('factsets', REMOTE, row('a', 'x'), row('a', 'y'), 'equal');
    expect(memo.verdict('factsets', REMOTE, row('a', 'x'), row('a', 'y'))).toBe('equal');
    for (const [entity, remote, remoteRow, localRow] of [
      ['catalogs', REMOTE, row('a', 'x'), row('a', 'y')],
      ['factsets', LOCAL, row('a', 'x'), row('a', 'y')],
      ['factsets', REMOTE, row('b', 'x'), row('b', 'y')],
      ['factsets', REMOTE, row('a', 'y'), row('a', 'x')],
      ['factsets', REMOTE, row('a', 'x'), row('a', 'z')],
    ] as const) {
      expect(memo.verdict(entity, remote, remoteRow, localRow)).toBeUndefined();
    }
  });

  it('drops the oldest verdict past its limit', () => {
    const memo = new TieMemo(2);
    const row = (key: string): SummaryRow => ({ key, certname: key, version: { time: 1, tieBreak: [] } });
    for (const key of ['a', 'b', 'c']) memo.remember('factsets', REMOTE, row(key), row(key), 'equal');
    expect(memo.size).toBe(2);
    expect(['a', 'b', 'c'].map((key) => memo.verdict('factsets', REMOTE, row(key), row(key)))).toEqual([undefined, 'equal', 'equal']);
  });
});
