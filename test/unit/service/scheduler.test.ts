import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextDelayMs, RemoteScheduler, type ScheduleSettings } from '../../../src/service/scheduler.ts';
import type { PassResult } from '../../../src/types.ts';

const settings: ScheduleSettings = { intervalMs: 60_000, jitterPercent: 10, backoffMaxMs: 600_000 };

describe('nextDelayMs', () => {
  const cases: Array<[string, ScheduleSettings, number, number, number]> = [
    ['the interval after a success, without jitter at the midpoint', settings, 0, 0.5, 60_000],
    ['up to 10% shorter', settings, 0, 0, 54_000],
    ['up to 10% longer', settings, 0, 1, 66_000],
    ['the interval after one failure', settings, 1, 0.5, 60_000],
    ['doubled after two failures', settings, 2, 0.5, 120_000],
    ['doubled again after three', settings, 3, 0.5, 240_000],
    ['capped by backoff-max', settings, 8, 0.5, 600_000],
    ['never below the interval when the cap is smaller', { ...settings, backoffMaxMs: 1_000 }, 5, 0.5, 60_000],
    ['no jitter when jitter-percent is 0', { ...settings, jitterPercent: 0 }, 0, 1, 60_000],
  ];
  it.each(cases)('%s', (_name, schedule, failures, random, expected) => {
    expect(nextDelayMs(schedule, failures, () => random)).toBe(expected);
  });

  it.each([
    ['a success: the interval from its start', 0, 20_000, 40_000],
    ['a success that took longer than the interval: at once', 0, 90_000, 0],
    ['a failure: the backoff from its end', 2, 20_000, 120_000],
  ])('after %s', (_name, failures, elapsed, expected) => {
    expect(nextDelayMs(settings, failures, () => 0.5, elapsed)).toBe(expected);
  });
});

describe('RemoteScheduler', () => {
  afterEach(() => vi.useRealTimers());

  const result = (ok: boolean): PassResult => ({ remote: 'http://r:8080', kind: 'incremental', ok, entities: [] });

  function scheduler(outcomes: boolean[]) {
    let release: (() => void) | undefined;
    const calls: number[] = [];
    const instance = new RemoteScheduler({
      remote: 'http://r:8080',
      settings: () => ({ ...settings, jitterPercent: 0 }),
      runPass: async () => {
        calls.push(Date.now());
        await new Promise<void>((resolve) => (release = resolve));
        return result(outcomes.shift() ?? true);
      },
      onPassError: () => undefined,
    });
    return { instance, calls, finish: () => release?.() };
  }

  it('runs a pass at start and the next one an interval after it ended', async () => {
    vi.useFakeTimers({ now: 0 });
    const { instance, calls, finish } = scheduler([true, true]);
    instance.start();
    expect(calls).toEqual([0]);
    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(instance.status()).toMatchObject({ state: 'waiting', nextRun: new Date(60_000).toISOString(), lastPass: { ok: true }, lagSeconds: 0 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toEqual([0, 60_000]);
    finish();
    await instance.stop();
  });

  it('joins a pass already running instead of starting a second', async () => {
    vi.useFakeTimers({ now: 0 });
    const { instance, calls, finish } = scheduler([true]);
    instance.start();
    const joined = instance.trigger();
    expect(calls).toHaveLength(1);
    expect(instance.status().state).toBe('running');
    finish();
    expect((await joined).ok).toBe(true);
    await instance.stop();
  });

  it('backs off after failures and recovers after a success', async () => {
    vi.useFakeTimers({ now: 0 });
    const { instance, calls, finish } = scheduler([false, false, true, true]);
    instance.start();
    for (const wait of [60_000, 120_000, 60_000]) {
      finish();
      await vi.advanceTimersByTimeAsync(0);
      const last = calls.at(-1)!;
      await vi.advanceTimersByTimeAsync(wait);
      expect(calls.at(-1)! - last).toBe(wait);
    }
    expect(instance.status()).toMatchObject({ consecutiveFailures: 0, lastFailure: expect.any(String), lastSuccess: expect.any(String) });
    finish();
    await instance.stop();
  });

  it('starts after the delay given, and waits what waitAfterSuccess says after a success (a reconciliation until due)', async () => {
    vi.useFakeTimers({ now: 0 });
    const calls: number[] = [];
    const outcomes = [true, false];
    const instance = new RemoteScheduler({
      remote: 'http://r:8080',
      settings: () => ({ ...settings, jitterPercent: 0 }),
      waitAfterSuccess: () => 3_600_000,
      runPass: async () => {
        calls.push(Date.now());
        return result(outcomes.shift() ?? true);
      },
      onPassError: () => undefined,
    });
    instance.start(30_000);
    expect(instance.status().nextRun).toBe(new Date(30_000).toISOString());
    await vi.advanceTimersByTimeAsync(29_999);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([30_000]);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(calls).toEqual([30_000, 3_630_000]);
    // After a failure, the backoff of the settings, not the wait after a success.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toEqual([30_000, 3_630_000, 3_690_000]);
    await instance.stop();
  });

  it('schedules nothing after stop', async () => {
    vi.useFakeTimers({ now: 0 });
    const { instance, calls, finish } = scheduler([true]);
    instance.start();
    const stopped = instance.stop();
    finish();
    await stopped;
    await vi.advanceTimersByTimeAsync(600_000);
    expect(calls).toHaveLength(1);
    expect(instance.status()).toMatchObject({ state: 'stopped', nextRun: null });
  });
});
