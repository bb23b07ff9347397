import { describe, expect, it } from 'vitest';
import { compareVersions, pullReason, type PrecedenceRule } from '../../../src/sync/precedence.ts';
import type { PullReason, SummaryRow, Version } from '../../../src/types.ts';
import { ENTITIES } from '../../../src/wiring.ts';

const v = (time: number, ...tieBreak: string[]): Version => ({ time, tieBreak });
const id = (identity: string, version: Version): Version => ({ ...version, identity });

/** Fact expiration, nodes: the summary row is the whole record. */
const BY_TIE_BREAK: PrecedenceRule = { pullWhenMissing: true, tiesByContent: false };
/** Catalogs, catalog inputs, factsets: the tie-break is a fingerprint. */
const BY_CONTENT: PrecedenceRule = { pullWhenMissing: true, tiesByContent: true };
const NOT_MISSING: PrecedenceRule = { pullWhenMissing: false, tiesByContent: false };

describe('pullReason', () => {
  // name, remote, local, by tie-break, by content
  const cases: Array<[string, Version, Version | undefined, PullReason | undefined, PullReason | undefined]> = [
    ['missing locally', v(1, 'a'), undefined, 'missing', 'missing'],
    ['remote later', v(2, 'a'), v(1, 'z'), 'newer', 'newer'],
    ['remote earlier', v(1, 'z'), v(2, 'a'), undefined, undefined],
    ['equal time and tie-break: in step, nothing read', v(5, 'h', 'p'), v(5, 'h', 'p'), undefined, undefined],
    ['equal time, remote hash greater', v(5, 'b', 'p'), v(5, 'a', 'p'), 'tie', 'tie'],
    ['equal time, remote hash smaller', v(5, 'a', 'p'), v(5, 'b', 'p'), undefined, 'tie'],
    ['equal time and hash, remote producer greater', v(5, 'h', 'q'), v(5, 'h', 'p'), 'tie', 'tie'],
    ['equal time and hash, remote producer smaller', v(5, 'h', 'p'), v(5, 'h', 'q'), undefined, 'tie'],
    ['equal time, no tie-break (node status)', v(5), v(5), undefined, undefined],
    ['a missing tie-break element sorts first', v(5, 'h', ''), v(5, 'h'), undefined, undefined],
    ['code-unit order, not locale order', v(5, 'B'), v(5, 'a'), undefined, 'tie'],
    ['local has no time at all', v(1), v(Number.NEGATIVE_INFINITY), 'newer', 'newer'],
    ['equal time and identity (a report), other hashes: in step', id('u', v(5, 'b')), id('u', v(5, 'a')), undefined, undefined],
    ['equal time, other identities', id('u', v(5, 'b')), id('w', v(5, 'a')), 'tie', 'tie'],
    ['equal time, other identities, remote hash smaller', id('u', v(5, 'a')), id('w', v(5, 'b')), undefined, 'tie'],
    ['equal identity, remote later: newer', id('u', v(6, 'a')), id('u', v(5, 'b')), 'newer', 'newer'],
  ];
  it.each(cases)('%s', (_name, remote, local, byTieBreak, byContent) => {
    expect(pullReason(remote, local, BY_TIE_BREAK)).toBe(byTieBreak);
    expect(pullReason(remote, local, BY_CONTENT)).toBe(byContent);
  });

  it('leaves a row the local server lacks when the entity says so', () => {
    expect(pullReason(v(1, 'a'), undefined, NOT_MISSING)).toBeUndefined();
    expect(pullReason(v(1, 'a'), undefined, { ...NOT_MISSING, tiesByContent: true })).toBeUndefined();
  });

  const versions = [v(1, 'a', 'p'), v(1, 'b', 'p'), v(1, 'a', 'q'), v(2, 'a', 'p'), v(2), v(1), id('u', v(1, 'a')), id('u', v(1, 'c')), id('w', v(1, 'b'))];

  it('by tie-break: never lets two servers both pull the same pair from each other', () => {
    for (const a of versions) {
      for (const b of versions) {
        const aPullsB = pullReason(b, a, BY_TIE_BREAK) !== undefined;
        const bPullsA = pullReason(a, b, BY_TIE_BREAK) !== undefined;
        expect(aPullsB && bPullsA).toBe(false);
        expect(aPullsB || bPullsA).toBe(compareVersions(a, b) !== 0);
      }
    }
  });

  it('by content: a tie is pulled both ways (the content decides which server takes it), anything else one way at most', () => {
    for (const a of versions) {
      for (const b of versions) {
        const [aPullsB, bPullsA] = [pullReason(b, a, BY_CONTENT), pullReason(a, b, BY_CONTENT)];
        const tied = a.time === b.time && compareVersions(a, b) !== 0;
        expect(aPullsB === 'tie' && bPullsA === 'tie').toBe(tied);
        if (!tied) expect(aPullsB !== undefined && bPullsA !== undefined).toBe(false);
        expect(aPullsB !== undefined || bPullsA !== undefined).toBe(compareVersions(a, b) !== 0);
      }
    }
  });

  // Equal identities make the order not quite total; records must still only move one way.
  it('by tie-break: never moves a record round a circle: every strict step between identities follows the tie-break', () => {
    const circle = [id('u', v(1, 'a')), id('u', v(1, 'c')), id('w', v(1, 'b')), v(1, 'b'), id('x', v(1, 'a'))];
    for (const a of circle) {
      for (const b of circle) {
        if (pullReason(b, a, BY_TIE_BREAK) === undefined) continue;
        expect(a.identity === undefined || a.identity !== b.identity).toBe(true);
        expect(b.tieBreak.join() > a.tieBreak.join()).toBe(true);
      }
    }
  });
});

describe('which entities decide ties by content', () => {
  const row: SummaryRow & { hash: string } = { key: 'a', certname: 'a', hash: 'h', version: v(1) };

  it('those whose summary row is not the whole record, but reports, whose rows of one key are one report', () => {
    const table = Object.fromEntries(ENTITIES.map((entity) => [entity.name, { tiesByContent: entity.tiesByContent, readsRecord: entity.recordQuery(row) !== undefined }]));
    expect(table).toEqual({
      catalogs: { tiesByContent: true, readsRecord: true },
      'catalog-inputs': { tiesByContent: true, readsRecord: true },
      factsets: { tiesByContent: true, readsRecord: true },
      'fact-expiration': { tiesByContent: false, readsRecord: false },
      reports: { tiesByContent: false, readsRecord: true },
      nodes: { tiesByContent: false, readsRecord: false },
    });
  });
});
