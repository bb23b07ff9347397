import { describe, expect, it } from 'vitest';
import { runPass } from '../../../src/sync/pass.ts';
import { MemorySyncState } from '../../../src/sync/sync-state.ts';
import { ENTITY_NAMES } from '../../../src/wiring.ts';
import { json } from '../fake-server.ts';
import { summaryContext } from '../fixtures.ts';
import { emptyLocal, factset, factsetRow, factsetsRemote, fakeClients, keptLog, queryKind, RECONCILE } from './fake-puppetdb.ts';

const PRODUCED = '2026-11-21T10:00:00.000Z';

const client = fakeClients();

describe('runPass: a reconciliation and incremental passes of one remote side by side', () => {
  it('keeps a provisional state of every entity before comparing anything, from which an incremental pass runs while the reconciliation is still moving records', async () => {
    const { log } = keptLog();
    const state = new MemorySyncState();
    const settings = { ...summaryContext().settings, concurrency: 1 };
    let releaseRecord!: () => void;
    const recordHeld = new Promise<void>((resolve) => (releaseRecord = resolve));
    let recordAsked!: () => void;
    const asked = new Promise<void>((resolve) => (recordAsked = resolve));
    let fetches = 0;
    const remote = await client(
      // The reconciliation's fetch is held; the incremental pass, which lists the same row among its changes, is answered at once.
      (request, body, response) => {
        const query = (JSON.parse(body) as { query: unknown[] }).query;
        const { entity, kind } = queryKind(query);
        if (entity !== 'factsets' || kind === 'aggregate') return json(200, [])(request, body, response);
        if (kind === 'summary') return json(200, [{ ...factsetRow('a', PRODUCED), timestamp: PRODUCED }])(request, body, response);
        if (fetches++ > 0) return json(200, [factset('a')])(request, body, response);
        recordAsked();
        void recordHeld.then(() => json(200, [factset('a')])(request, body, response));
      },
    );
    const local = await client(emptyLocal);
    let marked: Array<number | null | undefined> | undefined;
    const reconciliation = runPass({
      ...RECONCILE,
      remote,
      local,
      log,
      settings,
      state,
      onMarks: () => (marked = ENTITY_NAMES.map((entity) => state.get(remote.url, entity)?.reconciledAt)),
    });
    await asked;
    expect(marked, 'every entity provisional (reconciledAt null) when onMarks was told').toEqual(ENTITY_NAMES.map(() => null));

    const incremental = await runPass({ ...RECONCILE, kind: 'incremental', remote, local, log, settings, state });
    expect(incremental, JSON.stringify(incremental)).toMatchObject({ ok: true });
    expect(incremental.entities.map((entity) => [entity.entity, entity.kind])).toEqual(ENTITY_NAMES.map((entity) => [entity, 'incremental']));
    expect(state.get(remote.url, 'factsets')?.reconciledAt, 'still not reconciled').toBeNull();

    releaseRecord();
    const reconciled = await reconciliation;
    expect(reconciled).toMatchObject({ ok: true, kind: 'reconcile' });
    expect(reconciled.entities.find((entity) => entity.entity === 'factsets')).toMatchObject({ transferred: 1 });
    for (const entity of ENTITY_NAMES) expect(state.get(remote.url, entity)?.reconciledAt, entity).toEqual(expect.any(Number));
  });

  it('leaves an entity with no state at all to the reconciliation: an incremental pass compares nothing of it', async () => {
    const { log, lines } = keptLog();
    const remote = await client(factsetsRemote(['a'], (certname, request, body, response) => json(200, [factset(certname)])(request, body, response)));
    const result = await runPass({ ...RECONCILE, kind: 'incremental', remote, local: await client(emptyLocal), log, settings: summaryContext().settings, state: new MemorySyncState() });
    expect(result).toMatchObject({ ok: true, entities: [] });
    expect(lines.filter((line) => line.phase === 'record')).toEqual([]);
  });
});
