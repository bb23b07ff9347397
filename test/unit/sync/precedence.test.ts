import { describe, expect, it } from 'vitest';
import { compareVersions, pullReason } from '../../../src/sync/precedence.ts';
import type { PullReason, Version } from '../../../src/types.ts';

const v = (time: number, ...tieBreak: string[]): Version => ({ time, tieBreak });
const id = (identity: string, version: Version): Version => ({ ...version, identity });

describe('pullReason', () => {
  const cases: Array<[string, Version, Version | undefined, boolean, PullReason | undefined]> = [
    ['missing locally, entity pulls missing rows', v(1, 'a'), undefined, true, 'missing'],
    ['missing locally, entity does not pull missing rows', v(1), undefined, false, undefined],
    ['remote later', v(2, 'a'), v(1, 'z'), true, 'newer'],
    ['remote earlier', v(1, 'z'), v(2, 'a'), true, undefined],
    ['equal time and tie-break: in step', v(5, 'h', 'p'), v(5, 'h', 'p'), true, undefined],
    ['equal time, remote hash greater', v(5, 'b', 'p'), v(5, 'a', 'p'), true, 'tie'],
    ['equal time, remote hash smaller', v(5, 'a', 'p'), v(5, 'b', 'p'), true, undefined],
    ['equal time and hash, remote producer greater', v(5, 'h', 'q'), v(5, 'h', 'p'), true, 'tie'],
    ['equal time and hash, remote producer smaller', v(5, 'h', 'p'), v(5, 'h', 'q'), true, undefined],
    ['equal time, no tie-break (node status)', v(5), v(5), false, undefined],
    ['a missing tie-break element sorts first', v(5, 'h', ''), v(5, 'h'), true, undefined],
    ['code-unit order, not locale order', v(5, 'B'), v(5, 'a'), true, undefined],
    ['local has no time at all', v(1), v(Number.NEGATIVE_INFINITY), false, 'newer'],
    ['equal time and identity, other hashes: in step', id('u', v(5, 'b')), id('u', v(5, 'a')), true, undefined],
    ['equal time, other identities: the hash decides', id('u', v(5, 'b')), id('w', v(5, 'a')), true, 'tie'],
    ['equal time, one side without identity: the hash decides', id('u', v(5, 'b')), v(5, 'a'), true, 'tie'],
    ['equal identity, remote later: newer', id('u', v(6, 'a')), id('u', v(5, 'b')), true, 'newer'],
  ];
  it.each(cases)('%s', (_name, remote, local, pullWhenMissing, expected) => {
    expect(pullReason(remote, local, pullWhenMissing)).toBe(expected);
  });

  it('never lets two servers both pull the same pair from each other', () => {
    const versions = [v(1, 'a', 'p'), v(1, 'b', 'p'), v(1, 'a', 'q'), v(2, 'a', 'p'), v(2), v(1), id('u', v(1, 'a')), id('u', v(1, 'c')), id('w', v(1, 'b'))];
    for (const a of versions) {
      for (const b of versions) {
        const aPullsB = pullReason(b, a, true) !== undefined;
        const bPullsA = pullReason(a, b, true) !== undefined;
        expect(aPullsB && bPullsA).toBe(false);
        expect(aPullsB || bPullsA).toBe(compareVersions(a, b) !== 0);
      }
    }
  });

  // Equal identities make the order not quite total; records must still only move one way.
  it('never moves a record round a circle: every strict step between identities follows the tie-break', () => {
    const versions = [id('u', v(1, 'a')), id('u', v(1, 'c')), id('w', v(1, 'b')), v(1, 'b'), id('x', v(1, 'a'))];
    for (const a of versions) {
      for (const b of versions) {
        if (pullReason(b, a, true) === undefined) continue;
        expect(a.identity === undefined || a.identity !== b.identity).toBe(true);
        expect(b.tieBreak.join() > a.tieBreak.join()).toBe(true);
      }
    }
  });
});
