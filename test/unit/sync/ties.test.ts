import { describe, expect, it } from 'vitest';
import { factsets } from '../../../src/entities/factsets.ts';
import { TieMemo } from '../../../src/sync/content-tie.ts';
import { runPass } from '../../../src/sync/pass.ts';
import { MemorySyncState, type EntitySyncState } from '../../../src/sync/sync-state.ts';
import { collectedLog } from '../../log-check.ts';
import { summaryContext } from '../fixtures.ts';
import { certnameAsked, fakeClients, fakePuppetDb, queryKind } from './fake-puppetdb.ts';

/** Two servers holding factsets of one node at one time, from one producer: ties, decided by content. */

const T = '2026-11-21T10:00:00.000Z';
const client = fakeClients();

interface Factset {
  readonly hash: string;
  readonly role: string;
}

/** A server holding the factset of `web01`: `hash` in its summary, `role` its one fact. What it is asked is noted. */
async function holding({ hash, role }: Factset) {
  const row = { certname: 'web01', hash, producer_timestamp: T, producer: 'puppet.example.net', timestamp: T };
  const asked: string[] = [];
  const server = fakePuppetDb((query) => {
    const { entity, kind } = queryKind(query);
    if (kind === 'aggregate') return [];
    asked.push(`${entity} ${kind}`);
    if (entity !== 'factsets') return [];
    if (kind === 'summary') return [row];
    return certnameAsked(query) === 'web01' ? [{ ...row, environment: 'production', facts: { data: [{ name: 'role', value: role }] } }] : [];
  });
  return { client: await client(server.handler), submitted: server.submitted, asked };
}

type Server = Awaited<ReturnType<typeof holding>>;

/** One factsets pass from `remote` into `local`: a reconciliation, or an incremental pass going on from `previous`. */
async function pass(remote: Server, local: Server, options: { tieMemo?: TieMemo; previous?: EntitySyncState } = {}) {
  const { log, lines } = collectedLog('debug');
  const state = new MemorySyncState();
  if (options.previous) state.set(remote.client.url, 'factsets', options.previous);
  const result = await runPass({
    remote: remote.client,
    local: local.client,
    log,
    settings: summaryContext().settings,
    entities: [factsets],
    kind: options.previous ? 'incremental' : 'reconcile',
    state,
    tieMemo: options.tieMemo ?? new TieMemo(),
    exclusions: async () => new Set(),
    firstPass: false,
  });
  const records = lines.filter((line) => line.phase === 'record' && line.sync_event === 'finished');
  return { entity: result.entities[0]!, records, state: state.get(remote.client.url, 'factsets')! };
}

describe('a tie between factsets at one time from one producer', () => {
  it('is in step when the content is equal, whatever the hashes: nothing submitted, neither transferred nor failed', async () => {
    const [a, b] = [await holding({ hash: 'hash-of-7.4', role: 'web' }), await holding({ hash: 'hash-of-7.12', role: 'web' })];
    const { entity, records } = await pass(a, b);
    expect(entity).toMatchObject({ ok: true, transferred: 0, failed: 0 });
    expect(b.submitted).toEqual([]);
    expect(records).toEqual([expect.objectContaining({ reason: 'tie', tie: 'equal', certname: 'web01' })]);
    expect(records[0]).not.toHaveProperty('uuid');
  });

  it('moves the content of one winner, the same whichever server pulls first', async () => {
    for (const order of ['a first', 'b first']) {
      const [a, b] = [await holding({ hash: 'aaaa', role: 'web' }), await holding({ hash: 'ffff', role: 'db' })];
      const passes = order === 'a first' ? [await pass(b, a), await pass(a, b)] : [await pass(a, b), await pass(b, a)];
      const submitted = [...a.submitted, ...b.submitted];
      expect(submitted, order).toHaveLength(1);
      expect(passes.map((p) => p.entity.transferred).sort(), order).toEqual([0, 1]);
      expect(passes.flatMap((p) => p.records.map((line) => line.tie ?? 'remote-wins')).sort(), order).toEqual(['local-wins', 'remote-wins']);
      expect(submitted[0]!.payload, order).toMatchObject({ certname: 'web01', producer_timestamp: T, producer: 'puppet.example.net' });
    }
    // The content decides, not the servers' hashes: with the hashes in the other order, the same content wins.
    const [a, b] = [await holding({ hash: 'aaaa', role: 'web' }), await holding({ hash: 'ffff', role: 'db' })];
    await pass(a, b);
    await pass(b, a);
    const winner = (a.submitted[0] ?? b.submitted[0])!.payload as { values: { role: string } };
    const [again1, again2] = [await holding({ hash: 'zzzz', role: 'web' }), await holding({ hash: '0000', role: 'db' })];
    await pass(again1, again2);
    await pass(again2, again1);
    expect(((again1.submitted[0] ?? again2.submitted[0])!.payload as { values: { role: string } }).values.role).toBe(winner.values.role);
  });

  it('reads neither record again once decided, in a later reconciliation with the same memo', async () => {
    const [a, b] = [await holding({ hash: 'hash-of-7.4', role: 'web' }), await holding({ hash: 'hash-of-7.12', role: 'web' })];
    const tieMemo = new TieMemo();
    await pass(a, b, { tieMemo });
    expect([a.asked, b.asked].map((asked) => asked.filter((query) => query.endsWith('record') || query.startsWith('package_inventory')))).toEqual([
      ['factsets record', 'package_inventory summary'],
      ['factsets record', 'package_inventory summary'],
    ]);
    a.asked.length = 0;
    b.asked.length = 0;
    const again = await pass(a, b, { tieMemo });
    expect(again.records).toEqual([expect.objectContaining({ tie: 'equal' })]);
    expect([...a.asked, ...b.asked]).toEqual(['factsets summary', 'factsets summary']);
  });

  it('in an incremental pass, leaves a tie found in step among the rows in step, so the next pass does not look it up', async () => {
    const [a, b] = [await holding({ hash: 'aaaa', role: 'web' }), await holding({ hash: 'ffff', role: 'db' })];
    const remote = (await pass(a, b)).entity.transferred === 0 ? a : b;
    const local = remote === a ? b : a;
    const previous: EntitySyncState = { mark: Date.parse(T), reconciledAt: 0, inStep: new Map(), retry: new Map() };
    const first = await pass(remote, local, { previous });
    expect(first.records).toEqual([expect.objectContaining({ tie: 'local-wins' })]);
    expect([...first.state.inStep.keys()]).toEqual(['web01']);
    local.asked.length = 0;
    const next = await pass(remote, local, { previous: first.state });
    expect(next.records).toEqual([]);
    expect(local.asked).toEqual([]);
  });
});
