import { describe, expect, it } from 'vitest';
import { serializeCommand } from '../../../src/puppetdb/command.ts';
import { RecentlyApplied } from '../../../src/puppetdb/recently-applied.ts';

const command = (payload: Record<string, unknown>, producerTimestamp = '2026-11-20T10:00:00.000Z') =>
  serializeCommand({ command: 'replace_facts', version: 5, certname: 'a', producerTimestamp, payload });

describe('RecentlyApplied', () => {
  it('keys a command by kind, certname, producer time and every byte', () => {
    const keys = new Set([
      RecentlyApplied.key(command({ v: 1 })),
      RecentlyApplied.key(command({ v: 2 })),
      RecentlyApplied.key(command({ v: 1 }, '2026-11-20T10:00:00.001Z')),
      RecentlyApplied.key({ ...command({ v: 1 }), certname: 'b' }),
      RecentlyApplied.key({ ...command({ v: 1 }), command: 'store_report' }),
    ]);
    expect(keys.size).toBe(5);
    expect(RecentlyApplied.key(command({ v: 1 }))).toBe(RecentlyApplied.key(command({ v: 1 })));
  });

  it('answers the uuid for 10 minutes, then forgets it', () => {
    let now = 0;
    const applied = new RecentlyApplied(() => now);
    const key = RecentlyApplied.key(command({ v: 1 }));
    expect(applied.uuidOf(key)).toBeUndefined();
    applied.remember(key, 'u1');
    now = 10 * 60_000 - 1;
    expect(applied.uuidOf(key)).toBe('u1');
    now = 10 * 60_000;
    expect(applied.uuidOf(key)).toBeUndefined();
  });

  it('keeps at most 10,000, dropping the oldest', () => {
    const applied = new RecentlyApplied(() => 0);
    for (let i = 0; i <= 10_000; i++) applied.remember(`k${i}`, `u${i}`);
    expect(applied.uuidOf('k0')).toBeUndefined();
    expect(applied.uuidOf('k1')).toBe('u1');
    expect(applied.uuidOf('k10000')).toBe('u10000');
  });
});
