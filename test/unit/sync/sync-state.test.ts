import { describe, expect, it } from 'vitest';
import { combineStates, lastReconciliation, MemorySyncState, versionSignature, type EntitySyncState } from '../../../src/sync/sync-state.ts';
import type { SummaryRow } from '../../../src/types.ts';

const state = (reconciledAt: number | null): EntitySyncState => ({ mark: null, reconciledAt, inStep: new Map(), retry: new Map() });

describe('sync state', () => {
  it('keeps each remote and entity apart', () => {
    const store = new MemorySyncState();
    store.set('http://a:8080', 'factsets', state(1));
    expect(store.get('http://a:8080', 'factsets')?.reconciledAt).toBe(1);
    expect(store.get('http://a:8080', 'reports')).toBeUndefined();
    expect(store.get('http://b:8080', 'factsets')).toBeUndefined();
  });

  it.each([
    ['no entity reconciled', [], undefined],
    ['one entity never reconciled', [['factsets', 5]], undefined],
    ['the oldest reconciliation of the entities', [['factsets', 5], ['reports', 3]], 3],
    ['one entity whose first reconciliation runs', [['factsets', 5], ['reports', null]], undefined],
  ] as const)('lastReconciliation: %s', (_name, reconciled, expected) => {
    const store = new MemorySyncState();
    for (const [entity, at] of reconciled) store.set('http://a:8080', entity, state(at));
    expect(lastReconciliation(store, 'http://a:8080', ['factsets', 'reports'])).toBe(expected);
  });

  it('signs versions so that any difference in time or tie-break differs', () => {
    const signatures = new Set([
      versionSignature({ time: 1, tieBreak: ['a'] }),
      versionSignature({ time: 2, tieBreak: ['a'] }),
      versionSignature({ time: 1, tieBreak: ['b'] }),
      versionSignature({ time: 1, tieBreak: ['a', ''] }),
      versionSignature({ time: 1, tieBreak: ['a,'] }),
    ]);
    expect(signatures.size).toBe(5);
  });
});

describe('combineStates: a pass ends while the other lane of its remote moved the state on', () => {
  const row = (key: string): SummaryRow => ({ key, certname: key, version: { time: 1, tieBreak: [] } });
  const rows = (...keys: string[]) => new Map(keys.map((key) => [key, row(key)]));
  const at = (mark: number | null, reconciledAt: number | null, extra: Partial<EntitySyncState> = {}): EntitySyncState => ({ mark, reconciledAt, inStep: new Map(), retry: new Map(), ...extra });

  it('takes the pass\'s state when nothing moved meanwhile', () => {
    const started = at(10, 1);
    const next = at(20, 1);
    expect(combineStates(started, started, next, 'incremental')).toBe(next);
    expect(combineStates(undefined, undefined, next, 'reconcile')).toBe(next);
  });

  const cases: Array<[string, EntitySyncState, EntitySyncState | undefined, EntitySyncState, 'reconcile' | 'incremental', Partial<EntitySyncState>]> = [
    [
      'a reconciliation ends after incremental passes moved the mark past its own: the later mark, its own time',
      at(50, null, { inStep: new Map([['a', 's']]) }),
      at(10, null),
      at(12, 100, { relay: { mark: 12, at: 100 } }),
      'reconcile',
      { mark: 50, reconciledAt: 100, inStep: new Map([['a', 's']]), relay: { mark: 12, at: 100 } },
    ],
    [
      'an incremental pass ends after a reconciliation completed: the reconciliation\'s time is kept',
      at(30, 500),
      at(20, 100),
      at(40, 100, { inStep: new Map([['b', 's']]) }),
      'incremental',
      { mark: 40, reconciledAt: 500, inStep: new Map([['b', 's']]) },
    ],
    [
      'an incremental pass ends while the first reconciliation still runs: still not reconciled',
      at(10, null),
      at(5, null),
      at(40, null),
      'incremental',
      { mark: 40, reconciledAt: null },
    ],
    [
      'rows the other lane failed meanwhile are kept; those this pass tried again are its own verdict',
      at(30, 500, { retry: rows('old', 'new') }),
      at(20, 100, { retry: rows('old') }),
      at(40, 100, { retry: rows('again') }),
      'incremental',
      { retry: rows('again', 'new') },
    ],
    [
      'the relay scan that reached further',
      at(30, 500, { relay: { mark: 90, at: 7 } }),
      at(20, 100),
      at(40, 100, { relay: { mark: 60, at: 8 } }),
      'incremental',
      { relay: { mark: 90, at: 7 } },
    ],
    [
      'a watermark of none is not later than one',
      at(null, 1),
      at(5, 1),
      at(null, 1),
      'incremental',
      { mark: null },
    ],
  ];
  it.each(cases)('%s', (_name, current, started, next, kind, expected) => {
    expect(combineStates(current, started, next, kind)).toMatchObject(expected);
  });
});
