import type { PassResult } from '../types.ts';
import type { PassSummary, RemoteState, ScheduleStatus } from './status.ts';

export interface ScheduleSettings {
  readonly intervalMs: number;
  /** Each wait is spread by up to this many percent either way. */
  readonly jitterPercent: number;
  /** Longest wait after failed passes. */
  readonly backoffMaxMs: number;
}

/**
 * The wait from the end of a pass to the next: the interval after a success, less the
 * time the pass took (`elapsedMs`; passes start an interval apart, and one that ran
 * longer is followed at once), so that a record waits at most about an interval; after consecutive
 * failures the interval doubled per further failure, up to the cap (never below the
 * interval), so a remote that is down is polled less and less often and the log is
 * not flooded; one success brings the interval back. Jitter keeps a fleet of
 * sidecars from falling into waves.
 */
export function nextDelayMs(settings: ScheduleSettings, consecutiveFailures: number, random: () => number = Math.random, elapsedMs = 0): number {
  const { intervalMs, jitterPercent, backoffMaxMs } = settings;
  const base = consecutiveFailures <= 1 ? intervalMs : Math.min(Math.max(backoffMaxMs, intervalMs), intervalMs * 2 ** (consecutiveFailures - 1));
  const spread = (jitterPercent / 100) * (2 * random() - 1);
  return Math.max(0, Math.round(base * (1 + spread)) - (consecutiveFailures === 0 ? elapsedMs : 0));
}

export interface RemoteSchedulerOptions {
  readonly remote: string;
  readonly settings: () => ScheduleSettings;
  /**
   * The wait after a pass that succeeded, when it is not the interval (a
   * reconciliation: until the next is due); the backoff after failures is the same.
   */
  readonly waitAfterSuccess?: () => number;
  readonly runPass: () => Promise<PassResult>;
  /** A pass that threw instead of reporting its failure: a bug, to be logged. */
  readonly onPassError: (error: unknown) => void;
  readonly now?: () => number;
  readonly random?: () => number;
}

/**
 * Runs passes against one remote: one at start, then one per interval, start to
 * start; never two at once (a trigger during a pass joins it).
 */
export class RemoteScheduler {
  readonly remote: string;
  private readonly options: RemoteSchedulerOptions;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<PassResult> | undefined;
  private stopped = false;
  private nextRunAt: number | undefined;
  private lastPass: PassSummary | null = null;
  private lastSuccess: string | null = null;
  private lastSuccessStartedAt: number | undefined;
  private lastFailure: string | null = null;
  private consecutiveFailures = 0;

  constructor(options: RemoteSchedulerOptions) {
    this.remote = options.remote;
    this.options = options;
  }

  /** The first pass now, or after `delayMs` (a reconciliation not yet due). */
  start(delayMs = 0): void {
    if (delayMs <= 0) {
      void this.trigger();
      return;
    }
    this.nextRunAt = (this.options.now ?? Date.now)() + delayMs;
    this.timer = setTimeout(() => void this.trigger(), delayMs);
  }

  /** A pass now, or the one already running. */
  trigger(): Promise<PassResult> {
    if (this.running) return this.running;
    clearTimeout(this.timer);
    this.nextRunAt = undefined;
    const pass = this.runOnePass();
    this.running = pass;
    return pass;
  }

  /** No more passes; waits for the running one, which the caller has asked to stop. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.nextRunAt = undefined;
    await this.running?.catch(() => undefined);
  }

  status(): ScheduleStatus {
    const state: RemoteState = this.stopped ? 'stopped' : this.running ? 'running' : 'waiting';
    return {
      remote: this.remote,
      state,
      lastPass: this.lastPass,
      lastSuccess: this.lastSuccess,
      lagSeconds: this.lastSuccessStartedAt === undefined ? null : Math.max(0, ((this.options.now ?? Date.now)() - this.lastSuccessStartedAt) / 1000),
      lastFailure: this.lastFailure,
      consecutiveFailures: this.consecutiveFailures,
      nextRun: this.nextRunAt === undefined ? null : new Date(this.nextRunAt).toISOString(),
    };
  }

  private async runOnePass(): Promise<PassResult> {
    const now = this.options.now ?? Date.now;
    const start = new Date(now()).toISOString();
    let result: PassResult;
    try {
      result = await this.options.runPass();
    } catch (error) {
      this.options.onPassError(error);
      result = { remote: this.remote, kind: 'incremental', ok: false, entities: [] };
    }
    const end = new Date(now()).toISOString();
    this.lastPass = { start, end, kind: result.kind, ok: result.ok, entities: result.entities };
    if (result.ok) {
      this.lastSuccess = end;
      this.lastSuccessStartedAt = Date.parse(start);
      this.consecutiveFailures = 0;
    } else {
      this.lastFailure = end;
      this.consecutiveFailures++;
    }
    this.running = undefined;
    this.scheduleNext(Date.parse(end) - Date.parse(start));
    return result;
  }

  private scheduleNext(elapsedMs: number): void {
    if (this.stopped) return;
    const { waitAfterSuccess } = this.options;
    const delay = waitAfterSuccess && this.consecutiveFailures === 0 ? waitAfterSuccess() : nextDelayMs(this.options.settings(), this.consecutiveFailures, this.options.random, elapsedMs);
    this.nextRunAt = (this.options.now ?? Date.now)() + delay;
    this.timer = setTimeout(() => void this.trigger(), delay);
  }
}
