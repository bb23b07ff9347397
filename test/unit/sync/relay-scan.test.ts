import { describe, expect, it } from 'vitest';
import type { Change, Entity } from '../../../src/entities/entity.ts';
import { TieMemo } from '../../../src/sync/content-tie.ts';
import { runPass } from '../../../src/sync/pass.ts';
import { MemorySyncState, type EntitySyncState } from '../../../src/sync/sync-state.ts';
import type { SummaryRow } from '../../../src/types.ts';
import { NODE_PURGE_EXCLUSIONS } from '../../../src/wiring.ts';
import { summaryContext } from '../fixtures.ts';
import { emptyLocal, fakeClients, keptLog } from './fake-puppetdb.ts';

const client = fakeClients();
const NOW = Date.parse('2026-11-21T12:00:00.000Z');
const MARK = NOW - 10_000;
const RELAY_MARK = NOW - 120_000;

/** An entity whose changes and relayed changes are recorded, each answering one row received at `received`. */
function stubEntity(received: number) {
  const calls: Array<{ kind: 'changes' | 'relayed'; since: number | null }> = [];
  const answer = async function* (kind: 'changes' | 'relayed', since: number | null): AsyncGenerator<Change> {
    calls.push({ kind, since });
    yield { row: { key: 'a', certname: 'a', version: { time: received, tieBreak: [] } }, mark: received };
  };
  const entity: Entity = {
    name: 'reports',
    logPhase: 'record',
    pullWhenMissing: false,
    tiesByContent: false,
    remoteSummary: async function* () {},
    localSummary: async function* () {},
    watermark: async () => MARK,
    changes: (_remote, since) => answer('changes', since),
    relayedChanges: (_remote, since) => answer('relayed', since),
    counterparts: async function* (): AsyncGenerator<SummaryRow> {},
    recordQuery: () => undefined,
    toCommand: () => {
      throw new Error('nothing is pulled');
    },
  };
  return { entity, calls };
}

async function incrementalPass(previous: EntitySyncState, received = NOW - 1_000) {
  const { entity, calls } = stubEntity(received);
  const state = new MemorySyncState();
  const remote = await client(emptyLocal);
  state.set(remote.url, 'reports', previous);
  const { log } = keptLog();
  const result = await runPass({
    remote, local: await client(emptyLocal), log, settings: summaryContext().settings, entities: [entity],
    kind: 'incremental', state, tieMemo: new TieMemo(), exclusions: NODE_PURGE_EXCLUSIONS, firstPass: false, now: () => NOW,
  });
  expect(result.ok).toBe(true);
  return { calls, next: state.get(remote.url, 'reports')! };
}

const base = { mark: MARK, reconciledAt: NOW - 600_000, inStep: new Map<string, string>(), retry: new Map<string, SummaryRow>() };

describe('the relay scan (sync.relay-scan-interval, 1m here)', () => {
  it('is not due within the interval: the pass reads the changes since the watermark, and keeps the relay state', async () => {
    const relay = { mark: RELAY_MARK, at: NOW - 30_000 };
    const { calls, next } = await incrementalPass({ ...base, relay });
    expect(calls).toEqual([{ kind: 'changes', since: MARK }]);
    expect(next.relay).toEqual(relay);
  });

  it('is due once the interval has passed: it reads from where the last one left off, instead of the changes', async () => {
    const { calls, next } = await incrementalPass({ ...base, relay: { mark: RELAY_MARK, at: NOW - 60_000 } });
    expect(calls).toEqual([{ kind: 'relayed', since: RELAY_MARK }]);
    expect(next.relay).toEqual({ mark: NOW - 1_000, at: NOW });
    expect(next.mark).toBe(NOW - 1_000);
  });

  it('is due at once without relay state (a state read back after a restart), from the watermark', async () => {
    const { calls, next } = await incrementalPass(base);
    expect(calls).toEqual([{ kind: 'relayed', since: MARK }]);
    expect(next.relay).toEqual({ mark: NOW - 1_000, at: NOW });
  });

  it('keeps where it left off when nothing arrived, and never moves the watermark back', async () => {
    const { next } = await incrementalPass({ ...base, relay: { mark: RELAY_MARK, at: NOW - 61_000 } }, RELAY_MARK - 5_000);
    expect(next.relay).toEqual({ mark: RELAY_MARK, at: NOW });
    expect(next.mark).toBe(MARK);
  });

  it('starts from a reconciliation\'s watermark', async () => {
    const { entity } = stubEntity(NOW);
    const state = new MemorySyncState();
    const remote = await client(emptyLocal);
    const { log } = keptLog();
    await runPass({ remote, local: await client(emptyLocal), log, settings: summaryContext().settings, entities: [entity], kind: 'reconcile', state, tieMemo: new TieMemo(), exclusions: NODE_PURGE_EXCLUSIONS, firstPass: false, now: () => NOW });
    expect(state.get(remote.url, 'reports')!.relay).toEqual({ mark: MARK, at: NOW });
  });
});
