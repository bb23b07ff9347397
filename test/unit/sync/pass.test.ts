import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.ts';
import { ENTITIES } from '../../../src/wiring.ts';
import { runPass } from '../../../src/sync/pass.ts';
import { json, type Handler } from '../fake-server.ts';
import { summaryContext } from '../fixtures.ts';
import { emptyLocal, factset, factsetRow, factsetsRemote, fakeClients, keptLog, RECONCILE } from './fake-puppetdb.ts';

const client = fakeClients();

/** A remote whose factset records each take `slowMs` to answer, summary rows in `order`; every other query is empty. */
const slowRemote = (slowMs: number, order = ['a', 'b', 'c']): Handler =>
  factsetsRemote(order, (certname, request, body, response) => setTimeout(() => json(200, [factset(certname)])(request, body, response), slowMs));

describe('runPass: sync.entity-time-limit', () => {
  it('stops an entity past the limit after its record in flight, and goes on with the next entities', async () => {
    const { log, lines } = keptLog();
    // The first record starts well within the limit even on a loaded machine, and is still in flight when it passes.
    const settings = { ...summaryContext().settings, entityTimeLimitMs: 1_000, concurrency: 1 };
    const result = await runPass({ remote: await client(slowRemote(2_000)), local: await client(emptyLocal), log, settings, ...RECONCILE });

    expect(result.ok).toBe(false);
    expect(result.entities.map((entity) => entity.entity)).toEqual(ENTITIES.map((entity) => entity.name));
    expect(result.entities.find((entity) => entity.entity === 'factsets')).toMatchObject({ entity: 'factsets', kind: 'reconcile', ok: false, transferred: 1, failed: 0 });
    const stopped = lines.find((line) => line.phase === 'entity' && line.sync_entity === 'facts' && line.sync_event === 'error');
    expect(stopped).toMatchObject({ ok: false, transferred: 1, failed: 0, err: { code: 'PDBSYNC_ERR_ENTITY_TIME_LIMIT' } });
    expect(lines.filter((line) => line.phase === 'entity' && line.sync_event === 'finished').map((line) => line.sync_entity)).toEqual(
      ENTITIES.map((entity) => entity.name).filter((name) => name !== 'factsets'),
    );
  }, 15_000);

  it('stops between records when the sidecar stops, and runs no further entity', async () => {
    const log = createLogger('fatal');
    const stopping = new AbortController();
    const settings = { ...summaryContext().settings, concurrency: 1 };
    // Stopped while the first record is in flight, however long the entities before it took.
    const remote = factsetsRemote(['a', 'b', 'c'], (certname, request, body, response) => {
      stopping.abort();
      setTimeout(() => json(200, [factset(certname)])(request, body, response), 200);
    });
    const result = await runPass({
      remote: await client(remote),
      local: await client(emptyLocal),
      log,
      settings,
      ...RECONCILE,
      signal: stopping.signal,
    });
    expect(result.ok).toBe(false);
    expect(result.entities.at(-1)).toMatchObject({ entity: 'factsets', ok: false, transferred: 1, failed: 0 });
  });
});

describe('runPass: summaries out of key order', () => {
  it('diffs the entity with the local summary held whole, and transfers each record once', async () => {
    const { log, lines } = keptLog();
    const settings = { ...summaryContext().settings, concurrency: 1 };
    const applied: string[] = [];
    const remembering: Handler = (request, body, response) => {
      if (request.url?.startsWith('/pdb/cmd/v1?command=replace_facts')) applied.push(new URL(request.url, 'http://x').searchParams.get('certname')!);
      const query = request.url === '/pdb/query/v4' ? (JSON.parse(body) as { query: unknown[] }).query : [];
      if (query[1] === 'factsets') {
        const rows = applied.map((c) => factsetRow(c, '2026-11-21T10:00:00.000Z'));
        json(200, rows.sort((x, y) => (String(x.certname) < String(y.certname) ? -1 : 1)))(request, body, response);
      } else emptyLocal(request, body, response);
    };
    const result = await runPass({ remote: await client(slowRemote(0, ['a', 'c', 'b'])), local: await client(remembering), log, settings, ...RECONCILE });

    expect(result.ok).toBe(true);
    expect(applied.sort()).toEqual(['a', 'b', 'c']);
    expect(result.entities.find((entity) => entity.entity === 'factsets')).toEqual({ entity: 'factsets', kind: 'reconcile', ok: true, transferred: 3, failed: 0, skipped: 0, remoteRows: 6, localRows: 0 });
    expect(lines.find((line) => line.msg === 'summary not sorted by key; diffing with the local summary held whole' || line.message === 'summary not sorted by key; diffing with the local summary held whole')).toMatchObject({ sync_entity: 'facts' });
  });

  it('tries a record that fails once, and counts it failed once', async () => {
    const { log, lines } = keptLog();
    const refusing: Handler = (request, body, response) =>
      request.url?.startsWith('/pdb/cmd/v1') ? json(400, { error: 'Command is invalid.' })(request, body, response) : emptyLocal(request, body, response);
    const result = await runPass({ remote: await client(slowRemote(0, ['a', 'c', 'b'])), local: await client(refusing), log, settings: summaryContext().settings, ...RECONCILE });

    expect(result.entities.find((entity) => entity.entity === 'factsets')).toMatchObject({ transferred: 0, failed: 3 });
    const tried = lines.filter((line) => line.phase === 'record' && line.sync_event === 'start').map((line) => line.certname);
    expect(tried.sort()).toEqual(['a', 'b', 'c']);
  });
});

describe('runPass: transferred means applied', () => {
  const answers: Array<[string, number, unknown, { transferred: number; failed: number }, string | undefined]> = [
    ['applied', 200, { uuid: 'u', processed: true, timed_out: false }, { transferred: 3, failed: 0 }, undefined],
    ['not applied within the wait', 503, { uuid: 'u', processed: false, timed_out: true }, { transferred: 0, failed: 3 }, 'PDBSYNC_ERR_COMMAND_UNCONFIRMED'],
    ['failed in processing', 503, { uuid: 'u', processed: true, timed_out: false, error: 'java.lang.IllegalArgumentException: bad' }, { transferred: 0, failed: 3 }, 'PDBSYNC_ERR_COMMAND_FAILED'],
    ['refused', 400, { error: 'Command is invalid.' }, { transferred: 0, failed: 3 }, 'PDBSYNC_ERR_HTTP_REJECTED'],
  ];
  it.each(answers)('counts a command PuppetDB answers as %s', async (_name, status, answer, counts, code) => {
    const { log, lines } = keptLog();
    const local: Handler = (request, body, response) =>
      request.url?.startsWith('/pdb/cmd/v1') ? json(status, answer)(request, body, response) : emptyLocal(request, body, response);
    const result = await runPass({ remote: await client(slowRemote(0)), local: await client(local), log, settings: summaryContext().settings, ...RECONCILE });

    expect(result.ok).toBe(counts.failed === 0);
    expect(result.entities.find((entity) => entity.entity === 'factsets')).toMatchObject(counts);
    const recordErrors = lines.filter((line) => line.phase === 'record' && line.sync_event === 'error');
    expect(recordErrors.map((line) => (line.err as { code: string }).code)).toEqual(code ? [code, code, code] : []);
  });
});
