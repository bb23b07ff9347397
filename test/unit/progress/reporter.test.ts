import { describe, expect, it } from 'vitest';
import { collectedLog } from '../../log-check.ts';
import { logProgress, ProgressReporter } from '../../../src/progress/reporter.ts';
import { ProgressTracker } from '../../../src/progress/tracker.ts';
import { formatSeconds, plainProgressLine } from '../../../src/progress/view.ts';
import type { EntityProgressView } from '../../../src/types.ts';

const REMOTE = 'https://pdb2.example.net:8081';
const T0 = Date.parse('2026-12-05T05:00:00.000Z');

describe('ProgressReporter', () => {
  it('writes one line per entity at each interval of its run, none for an entity shorter than one, and reads the interval at each look', () => {
    let now = T0;
    const tracker = new ProgressTracker(30_000, () => now);
    const written: Array<[string, number]> = [];
    const reporter = new ProgressReporter(tracker, (view) => written.push([view.entity, view.elapsedMs]));
    const reports = tracker.entityStarted(REMOTE, 'reports', 'reconcile');
    const look = (atMs: number) => {
      now = T0 + atMs;
      reporter.report();
    };
    look(29_000);
    const nodes = tracker.entityStarted(REMOTE, 'nodes', 'reconcile');
    look(30_000);
    look(45_000);
    nodes.finished();
    look(61_000);
    look(62_000);
    tracker.intervalMs = 10_000;
    look(70_000);
    reports.finished();
    look(90_000);
    expect(written).toEqual([
      ['reports', 30_000],
      ['reports', 61_000],
      ['reports', 70_000],
    ]);
  });

  it('logs in the pe format with PE\'s names where PE has them, and in ECS under puppetdb_sync', () => {
    const view: EntityProgressView = {
      remote: REMOTE, entity: 'factsets', kind: 'reconcile', startedAt: T0, elapsedMs: 30_400, done: 120, toDo: 400, toDoComplete: false,
      transferred: 119, failed: 1, parts: 1, partsCompared: 0, remoteRows: 5_000, localRows: 4_800, recordsPerSecond: 10.456, etaSeconds: 27,
    };
    const pe = collectedLog('info');
    logProgress(pe.log)(view);
    expect(pe.lines).toEqual([
      expect.objectContaining({
        level: 'info', message: 'entity progress: 120 of ~400 records, 10.46/s, ETA 27s', phase: 'entity', sync_event: 'progress', remote: REMOTE, sync_entity: 'facts', kind: 'reconcile',
        elapsed: 30_400, done: 120, toDo: 400, toDoComplete: false, transferred: 119, failed: 1, parts: 1, partsCompared: 0, remoteRows: 5_000, localRows: 4_800, recordsPerSecond: 10.46, etaSeconds: 27,
      }),
    ]);
    const ecs = collectedLog('info', 'ecs');
    logProgress(ecs.log)(view);
    expect(ecs.lines[0]).toMatchObject({ event: { action: 'progress', duration: 30_400_000_000 }, puppetdb_sync: { entity: 'facts', done: 120, toDo: 400, etaSeconds: 27 } });
  });
});

describe('a plain progress line', () => {
  const view = (overrides: Partial<EntityProgressView>): EntityProgressView => ({
    remote: REMOTE, entity: 'reports', kind: 'reconcile', startedAt: T0, elapsedMs: 60_000, done: 0, toDo: null, toDoComplete: false,
    transferred: 0, failed: 0, parts: 3, partsCompared: 0, remoteRows: 0, localRows: 0, recordsPerSecond: 0, etaSeconds: null, ...overrides,
  });

  it.each([
    { case: 'nothing known yet', overrides: {}, line: `progress ${REMOTE} reports (reconcile): 0 of ? records, 0/s, ETA ?; 0 of 3 parts compared, summary rows read 0 remote, 0 local\n` },
    {
      case: 'an estimate, with failures',
      overrides: { done: 50, toDo: 4_000, partsCompared: 1, remoteRows: 100_000, localRows: 99_000, recordsPerSecond: 8, etaSeconds: 494, failed: 2 },
      line: `progress ${REMOTE} reports (reconcile): 50 of ~4000 records, 8/s, ETA 8m14s, 2 failed; 1 of 3 parts compared, summary rows read 100000 remote, 99000 local\n`,
    },
    { case: 'exact, hours to go', overrides: { done: 10, toDo: 90_000, toDoComplete: true, partsCompared: 3, recordsPerSecond: 4.5, etaSeconds: 19_998 }, line: `progress ${REMOTE} reports (reconcile): 10 of 90000 records, 4.5/s, ETA 5h33m; 3 of 3 parts compared, summary rows read 0 remote, 0 local\n` },
  ])('$case', ({ overrides, line }) => {
    expect(plainProgressLine(view(overrides))).toBe(line);
  });

  it.each([
    [0, '0s'],
    [59.6, '1m00s'],
    [61, '1m01s'],
    [3_599, '59m59s'],
    [3_600, '1h00m'],
    [90_061, '25h01m'],
  ])('formats %s seconds as %s', (seconds, text) => {
    expect(formatSeconds(seconds)).toBe(text);
  });
});
