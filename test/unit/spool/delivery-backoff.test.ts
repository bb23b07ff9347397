import { describe, expect, it } from 'vitest';
import { CommandBackoff, ServerBackoff } from '../../../src/spool/delivery-backoff.ts';

describe('ServerBackoff', () => {
  it('doubles from 5 s to 5 m while a server fails, and starts over once a round succeeds', () => {
    const backoff = new ServerBackoff();
    expect(Array.from({ length: 8 }, () => backoff.failed())).toEqual([5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    backoff.succeeded();
    expect(backoff.failed()).toBe(5_000);
  });
});

describe('CommandBackoff', () => {
  it('holds a failed command back 1 m, doubling to 1 h, and lets it go once forgotten', () => {
    const backoff = new CommandBackoff();
    expect(backoff.ready(7, 0)).toBe(true);
    expect(backoff.failed(7, 0)).toEqual({ delayMs: 60_000, first: true });
    expect([backoff.ready(7, 59_999), backoff.ready(7, 60_000), backoff.ready(8, 0)]).toEqual([false, true, true]);
    const delays = Array.from({ length: 7 }, () => backoff.failed(7, 0).delayMs);
    expect(delays).toEqual([120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000]);
    backoff.forget(7);
    expect([backoff.ready(7, 0), backoff.size]).toEqual([true, 0]);
  });
});
