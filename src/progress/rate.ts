/** How far back the rate of an entity's records looks: long enough to smooth the rests between parts, short enough to follow a server that slows down. */
export const RATE_WINDOW_MS = 120_000;

/** A sample is taken at most this often, so a window holds at most RATE_WINDOW_MS / SAMPLE_SPACING_MS of them. */
const SAMPLE_SPACING_MS = 1_000;

interface Sample {
  readonly at: number;
  readonly done: number;
}

/**
 * Records per second over the last RATE_WINDOW_MS: from the newest sample taken at or
 * before the window's start (the first, at the start, while the window reaches back
 * past it) to now. Samples are exact pairs of a time and a count.
 */
export class RateWindow {
  private readonly samples: Sample[];

  constructor(startedAt: number) {
    this.samples = [{ at: startedAt, done: 0 }];
  }

  /** `done` records by `now`. */
  add(now: number, done: number): void {
    const last = this.samples[this.samples.length - 1]!;
    if (now - last.at >= SAMPLE_SPACING_MS) this.samples.push({ at: now, done });
    // One sample at or before the window's start is kept as its base.
    while (this.samples.length > 1 && this.samples[1]!.at <= now - RATE_WINDOW_MS) this.samples.shift();
  }

  /** Records per second from the window's base to `now`, when `done` records are done; 0 before any time has passed. */
  perSecond(now: number, done: number): number {
    const base = this.base(now);
    const seconds = (now - base.at) / 1000;
    return seconds > 0 ? (done - base.done) / seconds : 0;
  }

  private base(now: number): Sample {
    let base = this.samples[0]!;
    for (const sample of this.samples) {
      if (sample.at > now - RATE_WINDOW_MS) break;
      base = sample;
    }
    return base;
  }
}
