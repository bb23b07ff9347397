import { describe, expect, it } from 'vitest';

import { parseDuration } from '../../src/config/duration.ts';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['0s', 0],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['14d', 1_209_600_000],
    ['60s', 60_000],
    ['090s', 90_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['2 minutes'], // HOCON's own duration syntax: PuppetDB does not accept it
    ['2 m'],
    ['2min'],
    ['-5s'],
    ['+5s'],
    ['1.5h'],
    ['.5h'],
    [''],
    ['30'], // a bare number: no unit
    ['s'],
    ['2M'],
    ['2m '],
    [' 2m'],
    ['1w'],
    ['2m30s'],
    ['99999999999999999999d'],
  ])('%j is not a duration', (text) => {
    expect(() => parseDuration(text)).toThrow(/is (not a|too long a) duration/);
  });
});

