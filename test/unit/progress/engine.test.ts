import { describe, expect, it } from 'vitest';
import type { Entity, SummarySegment } from '../../../src/entities/entity.ts';
import { ProgressTracker } from '../../../src/progress/tracker.ts';
import { TieMemo } from '../../../src/sync/content-tie.ts';
import { runPass } from '../../../src/sync/pass.ts';
import { MemorySyncState, versionSignature } from '../../../src/sync/sync-state.ts';
import type { EntityName, EntityProgress, EntityProgressView, PassKind, ProgressObserver, SummaryRow } from '../../../src/types.ts';
import { NODE_PURGE_EXCLUSIONS } from '../../../src/wiring.ts';
import { summaryContext } from '../fixtures.ts';
import { emptyLocal, fakeClients, keptLog } from '../sync/fake-puppetdb.ts';

const client = fakeClients();
const TIME = Date.parse('2026-11-21T10:00:00.000Z');
const row = (key: string): SummaryRow => ({ key, certname: key, version: { time: TIME, tieBreak: [] } });

/**
 * An entity read in two parts, counted at 4 and 6 remote rows: the local server holds
 * two of the first part's rows in step, none of the second's. Its records are its rows.
 */
const twoParts: Entity = {
  name: 'nodes',
  logPhase: 'deactivate',
  pullWhenMissing: true,
  tiesByContent: false,
  segments: async () => [
    { from: 0, to: 1, rows: 4 },
    { from: 1, to: Number.POSITIVE_INFINITY, rows: 6 },
  ],
  remoteSummary: async function* (_remote, _context, segment?: SummarySegment) {
    yield* segment?.from === 0 ? ['a0', 'a1', 'a2', 'a3'].map(row) : ['b0', 'b1', 'b2', 'b3', 'b4', 'b5'].map(row);
  },
  localSummary: async function* (_local, _context, segment?: SummarySegment) {
    if (segment?.from === 0) yield* ['a0', 'a1'].map(row);
  },
  watermark: async () => null,
  changes: async function* () {},
  counterparts: async function* () {},
  recordQuery: () => undefined,
  toCommand: (summaryRow) => ({ command: 'deactivate_node', version: 3, certname: summaryRow.certname, producerTimestamp: new Date(TIME).toISOString(), payload: { certname: summaryRow.certname } }),
};

/** A tracker whose entity, seen after each part the engine compares and at its end. */
function recordingTracker(): { observer: ProgressObserver; seen: EntityProgressView[] } {
  const tracker = new ProgressTracker(30_000);
  const seen: EntityProgressView[] = [];
  const observer: ProgressObserver = {
    entityStarted(remote: string, entity: EntityName, kind: PassKind): EntityProgress {
      const progress = tracker.entityStarted(remote, entity, kind);
      const look = () => seen.push(tracker.snapshot()[0]!);
      return {
        expectParts: (rows) => progress.expectParts(rows),
        compared: (rows, pulls, partEnd) => {
          progress.compared(rows, pulls, partEnd);
          look();
        },
        rowRead: (side) => progress.rowRead(side),
        pullEnded: (outcome) => progress.pullEnded(outcome),
        finished: () => {
          look();
          progress.finished();
        },
      };
    },
  };
  return { observer, seen };
}

describe('the engine feeds progress', () => {
  it('a reconciliation in parts: to do estimated from the counted rows of the part still to read, exact after the last, every pull done', async () => {
    const { observer, seen } = recordingTracker();
    const result = await runPass({
      remote: await client(emptyLocal), local: await client(emptyLocal), log: keptLog().log, settings: summaryContext().settings, entities: [twoParts],
      kind: 'reconcile', state: new MemorySyncState(), tieMemo: new TieMemo(), exclusions: NODE_PURGE_EXCLUSIONS, firstPass: false, progress: observer,
    });
    expect(result.entities).toMatchObject([{ entity: 'nodes', ok: true, transferred: 8 }]);
    expect(seen.map(({ toDo, toDoComplete, partsCompared, remoteRows, localRows }) => ({ toDo, toDoComplete, partsCompared, remoteRows, localRows }))).toEqual([
      // Two pulls in the first part's four rows: the second's six at that share.
      { toDo: 5, toDoComplete: false, partsCompared: 1, remoteRows: 4, localRows: 2 },
      { toDo: 8, toDoComplete: true, partsCompared: 2, remoteRows: 10, localRows: 2 },
      { toDo: 8, toDoComplete: true, partsCompared: 2, remoteRows: 10, localRows: 2 },
    ]);
    expect(seen.at(-1)).toMatchObject({ done: 8, transferred: 8, failed: 0, etaSeconds: 0 });
  });

  it('an incremental pass: its changes one part, the rows the last pass left in step compared without a lookup', async () => {
    const { observer, seen } = recordingTracker();
    const changed: Entity = { ...twoParts, changes: async function* () { yield* ['c0', 'c1', 'c2', 'c3', 'c4'].map((key) => ({ row: row(key), mark: TIME })); } };
    const state = new MemorySyncState();
    const remote = await client(emptyLocal);
    const inStep = new Map(['c0', 'c1'].map((key) => [key, versionSignature(row(key).version)]));
    state.set(remote.url, 'nodes', { mark: TIME, reconciledAt: TIME, inStep, retry: new Map() });
    const result = await runPass({
      remote, local: await client(emptyLocal), log: keptLog().log, settings: summaryContext().settings, entities: [changed],
      kind: 'incremental', state, tieMemo: new TieMemo(), exclusions: NODE_PURGE_EXCLUSIONS, firstPass: false, progress: observer,
    });
    expect(result.entities).toMatchObject([{ entity: 'nodes', kind: 'incremental', ok: true, transferred: 3 }]);
    expect(seen.map(({ toDo, toDoComplete, partsCompared }) => ({ toDo, toDoComplete, partsCompared }))).toEqual([
      { toDo: 0, toDoComplete: false, partsCompared: 0 },
      { toDo: 0, toDoComplete: false, partsCompared: 0 },
      { toDo: 3, toDoComplete: false, partsCompared: 0 },
      { toDo: 3, toDoComplete: true, partsCompared: 1 },
      { toDo: 3, toDoComplete: true, partsCompared: 1 },
    ]);
  });
});
