import { describe, expect, it } from 'vitest';
import { factsets } from '../../../src/entities/factsets.ts';
import { SyncError } from '../../../src/errors.ts';
import { collectedLog } from '../../log-check.ts';
import { diffBatch, diffSummaries, indexByKey, mergeSummaries } from '../../../src/sync/diff.ts';
import { runPass, type PassContext } from '../../../src/sync/pass.ts';
import { TieMemo } from '../../../src/sync/content-tie.ts';
import { MemorySyncState } from '../../../src/sync/sync-state.ts';
import type { SummaryRow, UnreadableRow } from '../../../src/types.ts';
import { summaryContext } from '../fixtures.ts';
import { factsetRecord, factsetRow, factsetsServer, fakeClients, type Answer } from './fake-puppetdb.ts';

const row = (key: string, time: number): SummaryRow => ({ key, certname: key, version: { time, tieBreak: [] } });
const bad = (key?: string): UnreadableRow => ({ unreadable: new SyncError('PDBSYNC_ERR_RESPONSE_MALFORMED', `row ${key}`), ...(key !== undefined && { key, certname: key }) });
async function* stream<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}
async function pulled(actions: AsyncIterable<{ row: SummaryRow }>): Promise<string[]> {
  const keys: string[] = [];
  for await (const action of actions) keys.push(action.row.key);
  return keys;
}
const OPTIONS = { pullWhenMissing: true, tiesByContent: false, excludedCertnames: new Set<string>() };

describe('diff: rows that could not be read', () => {
  const cases: Array<[string, Array<SummaryRow | UnreadableRow>, Array<SummaryRow | UnreadableRow>, string[]]> = [
    ['a local row keeps the remote row of its key from being pulled', [row('a', 2), row('b', 2), row('c', 2)], [row('a', 1), bad('b'), row('c', 1)], ['a', 'c']],
    ['a remote row is skipped, the rest go on', [row('a', 2), bad('b'), row('c', 2)], [row('a', 1), row('b', 1)], ['a', 'c']],
    ['a row without a key is dropped', [row('a', 2), bad(), row('c', 2)], [bad(), row('c', 1)], ['a', 'c']],
    ['the last local row', [row('a', 2), row('z', 2)], [row('a', 1), bad('z')], ['a']],
    ['the first remote row', [bad('a'), row('b', 2)], [], ['b']],
  ];
  it.each(cases)('merging sorted summaries: %s', async (_name, remote, local, keys) => {
    expect(await pulled(mergeSummaries(stream(remote), stream(local), OPTIONS))).toEqual(keys);
  });

  it.each(cases)('against the local summary held whole: %s', async (_name, remote, local, keys) => {
    expect(await pulled(diffSummaries(stream(remote), await indexByKey(stream(local)), OPTIONS))).toEqual(keys);
  });

  it('in a batch, a remote row whose local row could not be read is neither pulled nor settled, so the next pass compares it again', () => {
    const result = diffBatch([row('a', 2), row('b', 2), row('c', 1)], [row('a', 1), { ...bad('b'), key: 'b' }, row('c', 1)], OPTIONS);
    expect(result.pull.map((action) => action.row.key)).toEqual(['a']);
    expect(result.settled.map((settled) => settled.key)).toEqual(['c']);
  });
});

const T1 = '2026-11-21T10:00:00.000Z';
const T2 = '2026-11-21T11:00:00.000Z';
const client = fakeClients();

interface FactsetsPass {
  readonly remote: Answer;
  readonly records: Readonly<Record<string, Answer>>;
  readonly local: Answer;
  /** An incremental pass, going on from this watermark; a reconciliation without it. */
  readonly incrementalFrom?: string;
}

/** One pass of the factsets entity from `remote` into `local`: its result, log lines, certnames submitted and the state it left. */
async function factsetsPass({ remote, records, local, incrementalFrom }: FactsetsPass) {
  const { log, lines } = collectedLog('info');
  const localServer = factsetsServer(local);
  const remoteClient = await client(factsetsServer(remote, records).handler);
  const state = new MemorySyncState();
  if (incrementalFrom) state.set(remoteClient.url, 'factsets', { mark: Date.parse(incrementalFrom), reconciledAt: 0, inStep: new Map(), retry: new Map() });
  const context: PassContext = {
    remote: remoteClient,
    local: await client(localServer.handler),
    log,
    settings: summaryContext().settings,
    entities: [factsets],
    kind: incrementalFrom ? 'incremental' : 'reconcile',
    state,
    tieMemo: new TieMemo(),
    exclusions: async () => new Set(),
    firstPass: false,
  };
  const result = await runPass(context);
  const submitted = localServer.submitted.map((command) => command.certname).sort();
  return { result: result.entities[0]!, lines, submitted, state: state.get(remoteClient.url, 'factsets') };
}

const RECORDS = Object.fromEntries(['a', 'b', 'c'].map((c) => [c, [factsetRecord(c, T2)]]));
const REMOTE = ['a', 'b', 'c'].map((c) => factsetRow(c, T2));

describe('a pass: no row, local or remote, stops an entity', () => {
  it('skips a poisoned local row for its certname, logs it on one coded line, and goes on; the next pass tries again', async () => {
    const poisoned = [factsetRow('a', T1), { ...factsetRow('b', T1), producer_timestamp: 'March 7, 2024' }, factsetRow('c', T1)];
    const first = await factsetsPass({ remote: REMOTE, records: RECORDS, local: poisoned });
    expect(first.submitted).toEqual(['a', 'c']);
    expect(first.result).toMatchObject({ ok: false, transferred: 2, failed: 0, skipped: 1, remoteRows: 3, localRows: 3 });
    const skippedLines = first.lines.filter((line) => line.message?.includes('skipped'));
    expect(skippedLines).toEqual([expect.objectContaining({ level: 'warn', side: 'local', certname: 'b', err: expect.objectContaining({ code: 'PDBSYNC_ERR_RESPONSE_MALFORMED' }) })]);
    expect(skippedLines[0]!.err).not.toHaveProperty('stack');
    expect(first.lines.find((line) => line.phase === 'entity' && line.sync_event === 'finished')).toMatchObject({ skipped: 1, transferred: 2 });

    const next = await factsetsPass({ remote: REMOTE, records: RECORDS, local: [factsetRow('a', T2), factsetRow('b', T1), factsetRow('c', T2)] });
    expect(next.submitted).toEqual(['b']);
    expect(next.result).toMatchObject({ ok: true, skipped: 0 });
  });

  it('reads a local row PuppetDB stored past year 9999 and answers without its sign, and keeps the later one there', async () => {
    const { result, submitted } = await factsetsPass({ remote: REMOTE, records: RECORDS, local: [factsetRow('a', T1), factsetRow('b', '275760-09-13T00:00:00.000Z'), factsetRow('c', T1)] });
    expect(submitted).toEqual(['a', 'c']);
    expect(result).toMatchObject({ ok: true, skipped: 0 });
  });

  const remoteRows: Array<[string, Record<string, unknown>]> = [
    ['a hash that is a number', { ...factsetRow('b', T2), hash: 5 }],
    ['no producer_timestamp', { ...factsetRow('b', T2), producer_timestamp: undefined }],
    ['February 30th', { ...factsetRow('b', T2), producer_timestamp: '2024-02-30T00:00:00.000Z' }],
  ];
  it.each(remoteRows)('skips a remote row with %s and transfers the others', async (_name, poisoned) => {
    const { result, submitted, lines } = await factsetsPass({ remote: [REMOTE[0], poisoned, REMOTE[2]], records: RECORDS, local: [] });
    expect(submitted).toEqual(['a', 'c']);
    expect(result).toMatchObject({ ok: false, transferred: 2, skipped: 1 });
    expect(lines.find((line) => line.message?.includes('skipped'))).toMatchObject({ side: 'remote', certname: 'b' });
  });

  it('skips a remote row that is not even an object, with no certname to name', async () => {
    const { result, submitted } = await factsetsPass({ remote: [REMOTE[0], ['b'], REMOTE[2]], records: RECORDS, local: [] });
    expect(submitted).toEqual(['a', 'c']);
    expect(result).toMatchObject({ skipped: 1 });
  });

  it('in an incremental pass, skips a change row and a local row it cannot read, and keeps both out of the rows left in step', async () => {
    const changes = [{ ...factsetRow('a', T2), timestamp: T2 }, { ...factsetRow('b', T2), timestamp: 'soon' }, { ...factsetRow('c', T2), timestamp: T2 }];
    const local = [factsetRow('a', T1), factsetRow('b', T1), { ...factsetRow('c', T1), hash: null }];
    const { result, submitted, state } = await factsetsPass({ remote: changes, records: RECORDS, local, incrementalFrom: T1 });
    expect(result).toMatchObject({ kind: 'incremental', ok: false, transferred: 1, skipped: 2 });
    expect(submitted).toEqual(['a']);
    expect([...state!.inStep.keys()]).toEqual(['a']);
  });
});
