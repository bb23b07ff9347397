import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { collectedLog } from '../../log-check.ts';
import { showProgress } from '../../../src/progress/terminal.ts';
import { ProgressTracker } from '../../../src/progress/tracker.ts';

const REMOTE = 'https://pdb2.example.net:8081';

/** Standard error as a terminal (isTTY, columns) or as a file; what was written to it. */
function stderr(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  Object.assign(stream, { isTTY, columns: 160 });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => chunks.join('') };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('once: progress on standard error', () => {
  /** A reconciliation of reports that has compared its one part and done 30 of 120 records in 6 s, the clock moved without running timers. */
  function running(tracker: ProgressTracker) {
    const reports = tracker.entityStarted(REMOTE, 'reports', 'reconcile');
    reports.expectParts([undefined]);
    reports.compared(2_000, 120, true);
    for (let i = 0; i < 30; i++) {
      vi.setSystemTime(Date.now() + 200);
      reports.pullEnded('transferred');
    }
    return reports;
  }

  it('is plain lines when it is not a terminal, as the log has its JSON lines, and no escape sequence', () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-05T05:00:00.000Z') });
    const tracker = new ProgressTracker(5_000);
    const out = stderr(false);
    const { log, lines } = collectedLog('info');
    const display = showProgress(tracker, log, out.stream);
    const reports = running(tracker);
    vi.advanceTimersByTime(1_000);
    reports.finished();
    vi.advanceTimersByTime(10_000);
    display.stop();
    // Written at the first look past 5 s: 7 s into the entity, 30 records done.
    expect(out.text()).toBe(`progress ${REMOTE} reports (reconcile): 30 of 120 records, 4.29/s, ETA 21s; 1 of 1 parts compared, summary rows read 0 remote, 0 local\n`);
    expect(lines.map((line) => [line.sync_event, line.done, line.toDo])).toEqual([['progress', 30, 120]]);
  });

  it('is a bar per entity in progress on a terminal, never in the log', () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-05T05:00:00.000Z') });
    const tracker = new ProgressTracker(60_000);
    const out = stderr(true);
    const { log, lines } = collectedLog('info');
    const display = showProgress(tracker, log, out.stream);
    const reports = running(tracker);
    // Past the next look at the tracker, and cli-progress's own redraw after it.
    vi.advanceTimersByTime(1_200);
    const drawn = out.text();
    expect(drawn).toContain(`reports from ${REMOTE} [`);
    expect(drawn).toMatch(/\[=+-+\] 30 of 120 records, 4\.29\/s, ETA 21s/);
    display.stop();
    reports.finished();
    // Cleared at the end: the screen below the cursor erased.
    expect(out.text().slice(drawn.length)).toMatch(/\u001b\[0J$/);
    expect(lines).toEqual([]);
  });
});
