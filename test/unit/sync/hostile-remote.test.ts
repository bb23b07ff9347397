import { describe, expect, it } from 'vitest';
import { factsets } from '../../../src/entities/factsets.ts';
import { collectedLog } from '../../log-check.ts';
import { runPass } from '../../../src/sync/pass.ts';
import { TieMemo } from '../../../src/sync/content-tie.ts';
import { MemorySyncState } from '../../../src/sync/sync-state.ts';
import { summaryContext } from '../fixtures.ts';
import { factsetRecord, factsetRow, factsetsServer, fakeClients, type Answer } from './fake-puppetdb.ts';

const T = '2026-11-21T10:00:00.000Z';
const client = fakeClients();
const DEEP = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;

/** A reconciliation of factsets from a remote answering `rows` and `records` into an empty local server. */
async function pullFactsets(rows: Answer, records: Readonly<Record<string, Answer>>) {
  const { log, lines } = collectedLog('info');
  const local = factsetsServer([]);
  const result = await runPass({
    remote: await client(factsetsServer(rows, records).handler),
    local: await client(local.handler),
    log,
    settings: summaryContext().settings,
    entities: [factsets],
    kind: 'reconcile',
    state: new MemorySyncState(),
    tieMemo: new TieMemo(),
    exclusions: async () => new Set(),
    firstPass: false,
  });
  const errors = lines.filter((line) => line.err);
  return { entity: result.entities[0]!, submitted: local.submitted.map((command) => command.certname).sort(), errors };
}

describe('a hostile remote, through the fake server', () => {
  it('fails a summary nested 100,000 deep with one coded error for that response, and no stack trace', async () => {
    const { entity, errors, submitted } = await pullFactsets(`[${JSON.stringify(factsetRow('a', T))},{"certname":${DEEP}}]`, {});
    expect(entity).toMatchObject({ ok: false, transferred: 0 });
    expect(submitted).toEqual([]);
    expect(errors.find((line) => line.phase === 'entity')?.err).toEqual({
      type: 'SyncError',
      code: 'PDBSYNC_ERR_RESPONSE_MALFORMED',
      retryable: false,
      message: expect.stringMatching(/element 2 is nested deeper than 100 levels$/),
    });
    for (const line of errors) expect(line.err).not.toHaveProperty('stack');
  });

  it('fails a record nested 100,000 deep alone, with its code, and transfers the others', async () => {
    const records = { a: [factsetRecord('a', T)], b: `[{"certname":"b","facts":{"data":[{"name":"x","value":${DEEP}}]}}]`, c: [factsetRecord('c', T)] };
    const { entity, errors, submitted } = await pullFactsets(['a', 'b', 'c'].map((c) => factsetRow(c, T)), records);
    expect(submitted).toEqual(['a', 'c']);
    expect(entity).toMatchObject({ transferred: 2, failed: 1 });
    expect(errors).toEqual([
      expect.objectContaining({ phase: 'record', certname: 'b', err: expect.objectContaining({ code: 'PDBSYNC_ERR_RESPONSE_MALFORMED' }) }),
      expect.objectContaining({ phase: 'sync' }),
    ]);
    for (const line of errors) expect(line.err).not.toHaveProperty('stack');
  });

  const refused: Array<[string, string, Record<string, unknown>]> = [
    ['under another certname than its row\'s', 'PDBSYNC_ERR_RECORD_MISMATCH', { ...factsetRecord('b', T), certname: 'victim' }],
    ['newer than its row', 'PDBSYNC_ERR_RECORD_MISMATCH', factsetRecord('b', '2026-11-21T11:00:00.000Z')],
    ['with a certname Puppet refuses', 'PDBSYNC_ERR_RECORD_INVALID', { ...factsetRecord('b', T), certname: 'b\nforged log line' }],
  ];
  it.each(refused)('submits nothing for a record %s, and fails it alone with %s', async (_name, code, record) => {
    const records = { a: [factsetRecord('a', T)], b: [record], c: [factsetRecord('c', T)] };
    const { submitted, errors } = await pullFactsets(['a', 'b', 'c'].map((c) => factsetRow(c, T)), records);
    expect(submitted).toEqual(['a', 'c']);
    expect(errors.find((line) => line.phase === 'record')).toMatchObject({ certname: 'b', err: { code } });
  });

  it('fails alone a factset whose fact value is 1e400, which PuppetDB would store as "Infinity"', async () => {
    const b = JSON.stringify([{ ...factsetRecord('b', T), facts: { data: [{ name: 'x', value: 0 }] } }]).replace('"value":0', '"value":1e400');
    const { submitted, errors, entity } = await pullFactsets(['a', 'b', 'c'].map((c) => factsetRow(c, T)), { a: [factsetRecord('a', T)], b, c: [factsetRecord('c', T)] });
    expect(submitted).toEqual(['a', 'c']);
    expect(entity).toMatchObject({ transferred: 2, failed: 1 });
    expect(errors.find((line) => line.phase === 'record')).toMatchObject({ certname: 'b', err: { code: 'PDBSYNC_ERR_RECORD_INVALID' } });
  });

  it('pulls a remote row dated +275760 but submits nothing of it: PuppetDB would answer it back without the sign', async () => {
    const time = '+275760-09-13T00:00:00.000Z';
    const { submitted, entity, errors } = await pullFactsets([factsetRow('z', time)], { z: [factsetRecord('z', time)] });
    expect(submitted).toEqual([]);
    expect(entity).toMatchObject({ failed: 1, skipped: 0 });
    expect(errors.find((line) => line.phase === 'record')?.err).toMatchObject({ code: 'PDBSYNC_ERR_RECORD_INVALID' });
  });
});
