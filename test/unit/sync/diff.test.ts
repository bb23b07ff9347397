import { describe, expect, it } from 'vitest';
import type { SummaryRow } from '../../../src/types.ts';
import { diffBatch, diffSummaries, indexByKey, mergeSummaries, SummaryOutOfOrder, type PullAction } from '../../../src/sync/diff.ts';

const row = (key: string, time: number, hash = 'h'): SummaryRow => ({ key, certname: key, version: { time, tieBreak: [hash] } });

async function* stream<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

type Options = { pullWhenMissing?: boolean; tiesByContent?: boolean; excluded?: string[] };
type Diff = (remote: SummaryRow[], local: SummaryRow[], options?: Options) => Promise<string[]>;

const diffOptions = (options: Options) => ({
  pullWhenMissing: options.pullWhenMissing ?? true,
  tiesByContent: options.tiesByContent ?? false,
  excludedCertnames: new Set(options.excluded ?? []),
});

/** `key:reason`, and for a tie the tie-break of the local row it carries. */
const described = (action: PullAction<SummaryRow>) => `${action.row.key}:${action.reason}${action.reason === 'tie' ? `/${action.local.version.tieBreak.join()}` : ''}`;

async function collect(actions: AsyncIterable<PullAction<SummaryRow>>): Promise<string[]> {
  const out: string[] = [];
  for await (const action of actions) out.push(described(action));
  return out;
}

const byIndex: Diff = async (remote, local, options = {}) => collect(diffSummaries(stream(remote), await indexByKey(stream(local)), diffOptions(options)));
const byMerge: Diff = async (remote, local, options = {}) => collect(mergeSummaries(stream(remote), stream(local), diffOptions(options)));

describe.each([
  ['diffSummaries (local summary indexed)', byIndex],
  ['mergeSummaries (both sorted by key)', byMerge],
])('%s', (_name, pulls) => {
  const cases: Array<[string, SummaryRow[], SummaryRow[], Options, string[]]> = [
    ['everything in step', [row('a', 1), row('b', 2)], [row('a', 1), row('b', 2)], {}, []],
    ['empty local pulls all', [row('a', 1), row('b', 2)], [], {}, ['a:missing', 'b:missing']],
    ['empty remote pulls nothing', [], [row('a', 1)], {}, []],
    ['newer, older and tied rows', [row('a', 2), row('b', 1), row('c', 3, 'z')], [row('a', 1), row('b', 2), row('c', 3, 'y')], {}, ['a:newer', 'c:tie/y']],
    ['by tie-break, a tie the local row wins is not pulled', [row('c', 3, 'y')], [row('c', 3, 'z')], {}, []],
    [
      'by content, a tie is pulled whichever fingerprint is greater, with its local row',
      [row('a', 3, 'z'), row('b', 3, 'y'), row('c', 3, 'x')],
      [row('a', 3, 'y'), row('b', 3, 'z'), row('c', 3, 'x')],
      { tiesByContent: true },
      ['a:tie/y', 'b:tie/z'],
    ],
    ['by content, newer and older rows as by tie-break', [row('a', 2, 'a'), row('b', 1, 'z')], [row('a', 1, 'z'), row('b', 2, 'a')], { tiesByContent: true }, ['a:newer']],
    ['missing rows skipped when the entity says so', [row('a', 1), row('b', 2)], [row('b', 1)], { pullWhenMissing: false }, ['b:newer']],
    ['excluded certnames never pulled', [row('a', 1), row('b', 1)], [], { excluded: ['a'] }, ['b:missing']],
    ['a key listed twice is pulled once', [row('a', 2), row('a', 3)], [row('a', 1)], {}, ['a:newer']],
    ['local rows on both sides of each remote row', [row('b', 2), row('d', 1)], [row('a', 1), row('c', 1), row('d', 2), row('e', 1)], {}, ['b:missing']],
    ['a remote row past the end of the local summary', [row('a', 1), row('z', 1)], [row('a', 1)], {}, ['z:missing']],
  ];
  it.each(cases)('%s', async (_name, remote, local, options, expected) => {
    expect(await pulls(remote, local, options)).toEqual(expected);
  });
});

describe('mergeSummaries on summaries out of key order', () => {
  it.each([
    ['remote', [row('b', 1), row('a', 1)], [row('a', 1), row('b', 1)]],
    ['local', [row('a', 1), row('c', 1)], [row('b', 1), row('a', 1)]],
  ])('throws SummaryOutOfOrder for the %s side', async (side, remote, local) => {
    await expect(byMerge(remote, local)).rejects.toThrow(SummaryOutOfOrder);
    await expect(byMerge(remote, local)).rejects.toThrow(new RegExp(`the ${side} summary`));
  });
});

describe('mergeSummaries when the remote has nothing', () => {
  it('never reads the local summary', async () => {
    let localRead = false;
    async function* local(): AsyncGenerator<SummaryRow> {
      localRead = true;
      yield row('a', 1);
    }
    expect(await collect(mergeSummaries(stream<SummaryRow>([]), local(), diffOptions({})))).toEqual([]);
    expect(localRead).toBe(false);
  });
});

describe('diffBatch (incremental: a batch of remote rows against the local rows of their keys)', () => {
  const cases: Array<[string, SummaryRow[], SummaryRow[], Options, string[], string[]]> = [
    ['every row in step', [row('a', 1), row('b', 2)], [row('a', 1), row('b', 2)], {}, [], ['a', 'b']],
    ['missing locally', [row('a', 1)], [], {}, ['a:missing'], []],
    ['newer on the remote', [row('a', 2)], [row('a', 1)], {}, ['a:newer'], []],
    ['newer locally: settled, not pulled', [row('a', 1)], [row('a', 2)], {}, [], ['a']],
    ['a tie won by the remote', [row('a', 3, 'z')], [row('a', 3, 'y')], {}, ['a:tie/y'], []],
    ['a tie won by the local server', [row('a', 3, 'y')], [row('a', 3, 'z')], {}, [], ['a']],
    ['by content, a tie either way is pulled, for the transfer to decide', [row('a', 3, 'y'), row('b', 3, 'z')], [row('a', 3, 'z'), row('b', 3, 'y')], { tiesByContent: true }, ['a:tie/z', 'b:tie/y'], []],
    ['by content, equal fingerprints are settled', [row('a', 3, 'y')], [row('a', 3, 'y')], { tiesByContent: true }, [], ['a']],
    ['missing rows left when the entity says so', [row('a', 1)], [], { pullWhenMissing: false }, [], ['a']],
    ['an excluded certname is settled', [row('a', 5)], [row('a', 1)], { excluded: ['a'] }, [], ['a']],
    ['local rows of other keys are ignored', [row('a', 1)], [row('b', 9)], {}, ['a:missing'], []],
  ];
  it.each(cases)('%s', (_name, remote, local, options, pulled, settled) => {
    const diff = diffBatch(remote, local, diffOptions(options));
    expect(diff.pull.map(described)).toEqual(pulled);
    expect(diff.settled.map((r) => r.key)).toEqual(settled);
  });
});
