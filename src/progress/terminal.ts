import { MultiBar, type SingleBar } from 'cli-progress';
import { logEntityName, type Logger } from '../log.ts';
import type { EntityProgressView } from '../types.ts';
import { logProgress, ProgressReporter } from './reporter.ts';
import type { ProgressTracker } from './tracker.ts';
import { describeProgress, plainProgressLine } from './view.ts';

/** How often the bars are drawn again from the tracker. */
const REDRAW_MS = 1_000;

/** What `once` shows of its progress; stopped when it ends. */
export interface ProgressDisplay {
  stop(): void;
}

/**
 * `once`: progress lines in the JSON log, and on standard error a bar per entity in
 * progress when it is a terminal, plain lines otherwise (a file, a pipe, journald).
 * The bar never goes to the log's stream.
 */
export function showProgress(tracker: ProgressTracker, log: Logger, stderr: NodeJS.WriteStream): ProgressDisplay {
  const lines = new ProgressReporter(tracker, logProgress(log));
  const terminal = stderr.isTTY ? new ProgressBars(tracker, stderr) : new ProgressReporter(tracker, (view) => stderr.write(plainProgressLine(view)));
  lines.start();
  terminal.start();
  return {
    stop() {
      lines.stop();
      terminal.stop();
    },
  };
}

/** A cli-progress bar per entity in progress, drawn again every second from the tracker. */
class ProgressBars {
  private readonly tracker: ProgressTracker;
  private readonly bars: MultiBar;
  private readonly shown = new Map<string, SingleBar>();
  private timer: NodeJS.Timeout | undefined;

  constructor(tracker: ProgressTracker, stderr: NodeJS.WriteStream) {
    this.tracker = tracker;
    // Cleared at the end: the log has how each entity ended. The cursor is left alone, as a process killed would not show it again.
    this.bars = new MultiBar({ stream: stderr, format: '{label} [{bar}] {summary}', barsize: 30, emptyOnZero: true, clearOnComplete: true, hideCursor: false, autopadding: true });
  }

  start(): void {
    this.timer ??= setInterval(() => this.redraw(), REDRAW_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.bars.stop();
  }

  private redraw(): void {
    const running = new Set<string>();
    for (const view of this.tracker.snapshot()) {
      const identity = `${view.remote}\u0000${view.entity}\u0000${view.startedAt}`;
      running.add(identity);
      const payload = barPayload(view);
      const total = Math.max(view.toDo ?? 0, view.done);
      const bar = this.shown.get(identity);
      if (bar === undefined) this.shown.set(identity, this.bars.create(total, view.done, payload));
      else {
        bar.setTotal(total);
        bar.update(view.done, payload);
      }
    }
    for (const [identity, bar] of this.shown) {
      if (running.has(identity)) continue;
      this.bars.remove(bar);
      this.shown.delete(identity);
    }
  }
}

function barPayload(view: EntityProgressView): { label: string; summary: string } {
  return { label: `${logEntityName(view.entity)} from ${view.remote}`, summary: describeProgress(view) };
}
