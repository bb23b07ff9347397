import type { Logger } from '../log.ts';
import type { EntityProgressView } from '../types.ts';
import type { ProgressTracker } from './tracker.ts';
import { describeProgress, progressLogFields } from './view.ts';

/** Where a progress line goes. */
export type ProgressSink = (view: EntityProgressView) => void;

/** How often the reporter looks whether an entity's next line is due: lines come within this of their time. */
const TICK_MS = 1_000;

/**
 * One line per long-running entity every sync.progress-interval of its run (at one
 * interval, two, ...), for as long as it runs. The interval is read at each look, so
 * a reload applies at once.
 */
export class ProgressReporter {
  private readonly tracker: ProgressTracker;
  private readonly sink: ProgressSink;
  /** Lines written per entity run, by identity; dropped when it is no longer in progress. */
  private readonly written = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(tracker: ProgressTracker, sink: ProgressSink) {
    this.tracker = tracker;
    this.sink = sink;
  }

  start(): void {
    this.timer ??= setInterval(() => this.report(), TICK_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Writes the lines that are due. */
  report(): void {
    const running = new Set<string>();
    for (const view of this.tracker.longRunning()) {
      const identity = `${view.remote}\u0000${view.entity}\u0000${view.startedAt}`;
      running.add(identity);
      const due = Math.floor(view.elapsedMs / this.tracker.intervalMs);
      if (due > (this.written.get(identity) ?? 0)) {
        this.written.set(identity, due);
        this.sink(view);
      }
    }
    for (const identity of this.written.keys()) if (!running.has(identity)) this.written.delete(identity);
  }
}

/** Progress as JSON log lines, at info level. */
export function logProgress(log: Logger): ProgressSink {
  return (view) => log.info(progressLogFields(view), `entity progress: ${describeProgress(view)}`);
}
