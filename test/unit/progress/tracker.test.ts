import { describe, expect, it } from 'vitest';
import { estimateToDo, etaSeconds, ProgressTracker } from '../../../src/progress/tracker.ts';
import { RATE_WINDOW_MS, RateWindow } from '../../../src/progress/rate.ts';

const REMOTE = 'https://pdb2.example.net:8081';
const T0 = Date.parse('2026-12-05T05:00:00.000Z');

/** A tracker on a clock the test moves. */
function fakeClock() {
  let now = T0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('estimateToDo', () => {
  it.each([
    { case: 'nothing expected yet', parts: [], compared: 0, inPart: 0, rows: 0, pulls: 0, toDo: null, complete: false },
    { case: 'one part of unknown size, not read', parts: [undefined], compared: 0, inPart: 0, rows: 0, pulls: 0, toDo: null, complete: false },
    { case: 'one part of unknown size, compared', parts: [undefined], compared: 1, inPart: 0, rows: 900, pulls: 12, toDo: 12, complete: true },
    { case: 'every part compared, nothing to pull', parts: [10, 20], compared: 2, inPart: 0, rows: 30, pulls: 0, toDo: 0, complete: true },
    { case: 'first of three parts: the rest at its share', parts: [1_000, 2_000, 1_000], compared: 1, inPart: 0, rows: 1_000, pulls: 100, toDo: 400, complete: false },
    { case: 'a part held more rows than counted', parts: [1_000, 2_000], compared: 1, inPart: 0, rows: 1_250, pulls: 125, toDo: 325, complete: false },
    { case: 'within a part (incremental batches)', parts: [2_000], compared: 0, inPart: 500, rows: 500, pulls: 50, toDo: 200, complete: false },
    { case: 'more compared than expected: no negative rest', parts: [100], compared: 0, inPart: 150, rows: 150, pulls: 30, toDo: 30, complete: false },
    { case: 'a part of unknown size left: a lower bound', parts: [1_000, undefined], compared: 1, inPart: 0, rows: 1_000, pulls: 10, toDo: 10, complete: false },
    { case: 'parts expected, none compared: no share yet', parts: [1_000, 1_000], compared: 0, inPart: 0, rows: 0, pulls: 0, toDo: null, complete: false },
    { case: 'rounded to whole records', parts: [3, 3], compared: 1, inPart: 0, rows: 3, pulls: 1, toDo: 2, complete: false },
  ])('$case', ({ parts, compared, inPart, rows, pulls, toDo, complete }) => {
    expect(estimateToDo(parts, compared, inPart, rows, pulls)).toEqual({ toDo, complete });
  });
});

describe('etaSeconds', () => {
  it.each([
    { case: 'to do unknown', toDo: null, done: 5, perSecond: 2, eta: null },
    { case: 'all done', toDo: 40, done: 40, perSecond: 0, eta: 0 },
    { case: 'nothing moves', toDo: 40, done: 10, perSecond: 0, eta: null },
    { case: 'at the rate, rounded up', toDo: 100, done: 10, perSecond: 4, eta: 23 },
    { case: 'an estimate below what is done', toDo: 10, done: 12, perSecond: 3, eta: 0 },
  ])('$case', ({ toDo, done, perSecond, eta }) => {
    expect(etaSeconds(toDo, done, perSecond)).toBe(eta);
  });
});

describe('RateWindow', () => {
  /** Records done at `steps` (ms after the start, count), the rate asked at `at`. */
  it.each([
    { case: 'no time passed', steps: [], at: 0, done: 0, rate: 0 },
    { case: 'from the start while the window reaches past it', steps: [[10_000, 50]], at: 10_000, done: 50, rate: 5 },
    { case: 'a pause counts: 50 in 20 s', steps: [[10_000, 50]], at: 20_000, done: 50, rate: 2.5 },
    { case: 'only the last two minutes once longer', steps: [[60_000, 600], [180_000, 600], [300_000, 1_800]], at: 300_000, done: 1_800, rate: 10 },
    { case: 'nothing in the window', steps: [[10_000, 100]], at: 10_000 + RATE_WINDOW_MS + 5_000, done: 100, rate: 0 },
    { case: 'samples closer than a second: the rate stays exact', steps: [[1_000, 10], [1_200, 12], [1_400, 14]], at: 2_000, done: 20, rate: 10 },
  ])('$case', ({ steps, at, done, rate }) => {
    const window = new RateWindow(T0);
    for (const [ms, count] of steps) window.add(T0 + ms!, count!);
    expect(window.perSecond(T0 + at, done)).toBeCloseTo(rate, 6);
  });
});

describe('ProgressTracker', () => {
  it('counts what the engine tells of a reconciliation in parts: done, to do estimated then exact, rows read, rate and ETA', () => {
    const clock = fakeClock();
    const tracker = new ProgressTracker(30_000, clock.now);
    const reports = tracker.entityStarted(REMOTE, 'reports', 'reconcile');
    reports.expectParts([500, 1_500]);
    expect(tracker.snapshot()).toMatchObject([{ entity: 'reports', done: 0, toDo: null, toDoComplete: false, parts: 2, partsCompared: 0, etaSeconds: null }]);

    for (let i = 0; i < 500; i++) reports.rowRead('remote');
    for (let i = 0; i < 480; i++) reports.rowRead('local');
    reports.compared(500, 20, true);
    for (let i = 0; i < 20; i++) {
      clock.advance(1_000);
      reports.pullEnded(i === 3 ? 'failed' : i === 4 ? 'in-step' : 'transferred');
    }
    expect(tracker.snapshot()).toEqual([
      {
        remote: REMOTE,
        entity: 'reports',
        kind: 'reconcile',
        startedAt: T0,
        elapsedMs: 20_000,
        done: 20,
        toDo: 80,
        toDoComplete: false,
        transferred: 18,
        failed: 1,
        parts: 2,
        partsCompared: 1,
        remoteRows: 500,
        localRows: 480,
        recordsPerSecond: 1,
        etaSeconds: 60,
      },
    ]);

    reports.compared(1_500, 30, true);
    expect(tracker.snapshot()[0]).toMatchObject({ toDo: 50, toDoComplete: true, partsCompared: 2, etaSeconds: 30 });
    reports.finished();
    expect(tracker.snapshot()).toEqual([]);
  });

  it('shows an entity as long-running once it has run one interval, and forgets it at its end', () => {
    const clock = fakeClock();
    const tracker = new ProgressTracker(30_000, clock.now);
    const factsets = tracker.entityStarted(REMOTE, 'factsets', 'incremental');
    clock.advance(29_999);
    const catalogs = tracker.entityStarted('https://pdb3.example.net:8081', 'catalogs', 'reconcile');
    expect(tracker.longRunning()).toEqual([]);
    clock.advance(1);
    expect(tracker.longRunning().map((view) => view.entity)).toEqual(['factsets']);
    tracker.intervalMs = 10_000;
    clock.advance(10_000);
    expect(tracker.longRunning().map((view) => view.entity)).toEqual(['factsets', 'catalogs']);
    factsets.finished();
    catalogs.finished();
    expect(tracker.snapshot()).toEqual([]);
  });

  it('follows an incremental pass batch by batch: rows left in step count as compared', () => {
    const clock = fakeClock();
    const tracker = new ProgressTracker(30_000, clock.now);
    const facts = tracker.entityStarted(REMOTE, 'factsets', 'incremental');
    facts.expectParts([1_000]);
    for (let i = 0; i < 500; i++) facts.compared(1, 0, false);
    facts.compared(250, 25, false);
    // 25 pulls in 750 rows: the 250 left at that share.
    expect(tracker.snapshot()[0]).toMatchObject({ toDo: 33, toDoComplete: false });
    facts.compared(250, 25, false);
    facts.compared(0, 0, true);
    expect(tracker.snapshot()[0]).toMatchObject({ toDo: 50, toDoComplete: true, partsCompared: 1 });
  });
});
