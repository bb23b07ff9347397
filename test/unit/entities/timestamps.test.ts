import { describe, expect, it } from 'vitest';
import { queryTimestamp, readSubmittableTimestamp, readTimestamp } from '../../../src/entities/timestamps.ts';

const DAY = 86_400_000;

describe('readTimestamp: what a PuppetDB may answer', () => {
  const read: Array<[string, string, number]> = [
    ['PuppetDB\'s own form', '2026-11-20T10:00:00.123Z', Date.UTC(2026, 10, 20, 10, 0, 0, 123)],
    ['no fraction', '2026-11-20T10:00:00Z', Date.UTC(2026, 10, 20, 10)],
    ['an offset', '2026-11-20T10:00:00.000+01:00', Date.UTC(2026, 10, 20, 9)],
    ['microseconds, cut to milliseconds as PuppetDB answers them', '2024-03-07T10:00:00.123999Z', Date.UTC(2024, 2, 7, 10, 0, 0, 123)],
    ['a leap day', '2024-02-29T00:00:00.000Z', Date.UTC(2024, 1, 29)],
    ['year 275760, stored from +275760 and answered without the sign', '275760-09-13T00:00:00.000Z', 8.64e15],
    ['year 10000, past what Date.parse reads', '10000-01-01T04:00:00.000Z', Date.parse('+010000-01-01T04:00:00.000Z')],
    ['a Julian-shifted early date as 7.12.1 answers it', '0999-12-27T00:00:00.000Z', Date.parse('0999-12-27T00:00:00.000Z')],
  ];
  it.each(read)('reads %s', (_name, text, ms) => {
    expect(readTimestamp(text)).toBe(ms);
  });

  it('reads year 294276, PostgreSQL\'s last and past a JS Date, as later than any of them', () => {
    const last = readTimestamp('294276-12-31T23:59:59.999Z')!;
    expect(last).toBeGreaterThan(8.64e15 + 18_000 * 365 * DAY);
    expect(readTimestamp('294276-12-31T23:59:58.999Z')!).toBeLessThan(last);
  });

  const refused: Array<[string, string]> = [
    ['a bare number', '1'],
    ['words', 'March 7, 2024'],
    ['February 30th', '2024-02-30T00:00:00.000Z'],
    ['February 29th of a common year', '2023-02-29T00:00:00.000Z'],
    ['a date alone', '2024-03-07'],
    ['a space for the T', '2024-03-07 10:00:00Z'],
    ['lower case t and z', '2024-03-07t10:00:00z'],
    ['a leap second', '2024-12-31T23:59:60Z'],
    ['hour 24', '2024-12-31T24:00:00Z'],
    ['no zone', '2024-03-07T10:00:00'],
    ['an offset past 18:00', '2024-03-07T10:00:00+19:00'],
    ['an offset without a colon', '2024-03-07T10:00:00+0100'],
    ['a three-digit year', '999-01-01T00:00:00Z'],
    ['more than nine fraction digits', '2024-03-07T10:00:00.1234567890Z'],
  ];
  it.each(refused)('refuses %s', (_name, text) => {
    expect(readTimestamp(text)).toBeUndefined();
  });
});

describe('readSubmittableTimestamp: what PuppetDB gives back as the same instant', () => {
  const accepted: Array<[string, string]> = [
    ['PuppetDB\'s own form', '2026-11-20T10:00:00.123Z'],
    ['an offset', '2026-11-20T10:00:00+18:00'],
    ['the first whole Gregorian year', '1583-01-01T00:00:00.000Z'],
    ['the last four-digit instant', '9999-12-31T23:59:59.999Z'],
  ];
  it.each(accepted)('accepts %s', (_name, text) => {
    expect(readSubmittableTimestamp(text)).toEqual({ ms: readTimestamp(text) });
  });

  const refused: Array<[string, string, RegExp]> = [
    ['a signed year, answered back without the sign', '+275760-09-13T00:00:00.000Z', /outside 1583/],
    ['year 10000', '+10000-01-01T00:00:00.000Z', /outside 1583/],
    ['an offset that carries 9999 into year 10000', '9999-12-31T23:00:00.000-05:00', /outside 1583/],
    ['a date before the Gregorian reform, answered 10 days earlier', '1582-10-14T23:59:59.999Z', /outside 1583/],
    ['year 1000, answered as 0999-12-27', '1000-01-01T00:00:00.000Z', /outside 1583/],
    ['a negative year', '-0001-01-01T00:00:00Z', /outside 1583/],
    ['a bare number', '1', /not an ISO 8601/],
    ['words', 'March 7, 2024', /not an ISO 8601/],
    ['February 30th', '2024-02-30T00:00:00.000Z', /not an ISO 8601/],
  ];
  it.each(refused)('refuses %s', (_name, text, problem) => {
    const read = readSubmittableTimestamp(text);
    expect(read).toHaveProperty('problem');
    expect((read as { problem: string }).problem).toMatch(problem);
  });
});

describe('queryTimestamp', () => {
  it.each([
    ['an ordinary instant', Date.UTC(2026, 10, 20), '2026-11-20T00:00:00.000Z'],
    ['past year 9999', 8.64e15, '9999-12-31T23:59:59.999Z'],
    ['past a JS Date', 9.2e15, '9999-12-31T23:59:59.999Z'],
    ['before year 1', -7e13, '0001-01-01T00:00:00.000Z'],
  ])('writes %s as a four-digit year', (_name, ms, text) => {
    expect(queryTimestamp(ms)).toBe(text);
  });
});
