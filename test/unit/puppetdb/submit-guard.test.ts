import { describe, expect, it } from 'vitest';
import { SubmitGuard } from '../../../src/puppetdb/submit-guard.ts';

const REPORT_SETTLE_MS = 120_000;
import { serverVersion } from '../../../src/puppetdb/versions.ts';

const PRODUCED = '2026-11-21T10:00:00.000Z';
const report = { command: 'store_report', certname: 'a', producerTimestamp: PRODUCED };

/** A server of `version` whose queue depths are read from `depths` in turn (the last one repeating). */
function server(version: string, depths: number[] = [0]) {
  const asked: number[] = [];
  return {
    asked,
    version: async () => serverVersion(version),
    queueDepth: async () => {
      asked.push(depths.length);
      return depths.length > 1 ? depths.shift()! : depths[0]!;
    },
  };
}

describe('SubmitGuard', () => {
  it('admits one submission of a record at a time, the second once the first is done', async () => {
    const guard = new SubmitGuard(server('7.12.1'), REPORT_SETTLE_MS);
    const order: string[] = [];
    const first = await guard.admit(report);
    const second = guard.admit(report).then((done) => {
      order.push('second admitted');
      done();
    });
    const other = await guard.admit({ ...report, certname: 'b' });
    order.push('other admitted');
    other();
    await new Promise((resolve) => setTimeout(resolve, 20));
    order.push('first done');
    first();
    await second;
    expect(order).toEqual(['other admitted', 'first done', 'second admitted']);
  });

  it('sends a report at once to a server without the race, asking nothing of its queue', async () => {
    const peer = server('8.4.1', [5]);
    const done = await new SubmitGuard(peer, REPORT_SETTLE_MS, () => Date.parse(PRODUCED)).admit(report);
    done();
    expect(peer.asked).toEqual([]);
  });

  it('on a server with the race, holds a fresh report until the settle time has passed and the queue was seen empty after it', async () => {
    const peer = server('8.8.1', [3, 1, 0]);
    let now = Date.parse(PRODUCED) + REPORT_SETTLE_MS + 10;
    const guard = new SubmitGuard(peer, REPORT_SETTLE_MS, () => now++);
    const started = Date.now();
    const done = await guard.admit(report);
    done();
    expect(peer.asked).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    // An older report is admitted at once now: the queue was seen empty after its settle time.
    const older = await guard.admit({ ...report, producerTimestamp: '2026-11-21T09:00:00.000Z' });
    older();
    expect(peer.asked).toHaveLength(3);
  });

  it('lets a stop end the wait, with the stop\'s reason', async () => {
    const controller = new AbortController();
    const guard = new SubmitGuard(server('8.8.1', [1, 1, 0]), REPORT_SETTLE_MS, () => Date.parse(PRODUCED) + REPORT_SETTLE_MS + 1);
    const admitted = guard.admit(report, controller.signal);
    controller.abort(new Error('stopped'));
    await expect(admitted).rejects.toThrow('stopped');
    // The record is free again: the next submission of it is admitted once the queue is empty.
    const done = await guard.admit(report);
    done();
  });
});

describe('SubmitGuard with a command stuck in the queue', () => {
  it('waits for an empty queue no longer than another settle time', async () => {
    const peer = server('8.8.1', [1]);
    let now = Date.parse(PRODUCED) + 2 * REPORT_SETTLE_MS - 1_500;
    const guard = new SubmitGuard(peer, REPORT_SETTLE_MS, () => (now += 500));
    const started = Date.now();
    const done = await guard.admit(report);
    done();
    expect(peer.asked.length).toBeGreaterThanOrEqual(1);
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});

describe('SubmitGuard and a report dated ahead of its clock', () => {
  it('holds it the settle time from now, not from its producer time', async () => {
    const peer = server('8.8.1', [0]);
    const now = Date.parse(PRODUCED) - 3_600_000;
    const guard = new SubmitGuard(peer, 1_000, () => now + (Date.now() - started));
    const started = Date.now();
    const done = await guard.admit(report);
    done();
    expect(Date.now() - started).toBeLessThan(4_000);
  });
});
