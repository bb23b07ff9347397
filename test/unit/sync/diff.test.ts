import { describe, expect, it } from 'vitest';
import type { SummaryRow } from '../../../src/entities/entity.ts';
import { diffSummaries, indexByKey } from '../../../src/sync/diff.ts';

const row = (key: string, time: number, hash = 'h'): SummaryRow => ({ key, certname: key, version: { time, tieBreak: [hash] } });

async function* stream<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function pulls(remote: SummaryRow[], local: SummaryRow[], options: { pullWhenMissing?: boolean; excluded?: string[] } = {}) {
  const index = await indexByKey(stream(local));
  const out: string[] = [];
  for await (const action of diffSummaries(stream(remote), index, {
    pullWhenMissing: options.pullWhenMissing ?? true,
    excludedCertnames: new Set(options.excluded ?? []),
  })) {
    out.push(`${action.row.key}:${action.reason}`);
  }
  return out;
}

describe('diffSummaries', () => {
  const cases: Array<[string, SummaryRow[], SummaryRow[], Parameters<typeof pulls>[2], string[]]> = [
    ['everything in step', [row('a', 1), row('b', 2)], [row('a', 1), row('b', 2)], {}, []],
    ['empty local pulls all', [row('a', 1), row('b', 2)], [], {}, ['a:missing', 'b:missing']],
    ['empty remote pulls nothing', [], [row('a', 1)], {}, []],
    ['newer, older and tied rows', [row('a', 2), row('b', 1), row('c', 3, 'z')], [row('a', 1), row('b', 2), row('c', 3, 'y')], {}, ['a:newer', 'c:tie']],
    ['missing rows skipped when the entity says so', [row('a', 1), row('b', 2)], [row('b', 1)], { pullWhenMissing: false }, ['b:newer']],
    ['excluded certnames never pulled', [row('a', 1), row('b', 1)], [], { excluded: ['a'] }, ['b:missing']],
    ['a key listed twice is pulled once', [row('a', 2), row('a', 3)], [row('a', 1)], {}, ['a:newer']],
  ];
  it.each(cases)('%s', async (_name, remote, local, options, expected) => {
    expect(await pulls(remote, local, options)).toEqual(expected);
  });
});
