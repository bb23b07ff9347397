import { describe, expect, it } from 'vitest';
import { lastReconciliation, MemorySyncState, versionSignature, type EntitySyncState } from '../../../src/sync/sync-state.ts';

const state = (reconciledAt: number): EntitySyncState => ({ mark: null, reconciledAt, inStep: new Map(), retry: new Map() });

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
