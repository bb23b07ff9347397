import { describe, expect, it } from 'vitest';
import { decide, type Decision, type DecisionInput } from '../../../src/spool/decide.ts';
import type { SummaryRow, Version } from '../../../src/types.ts';

const NOW = Date.parse('2026-05-15T00:00:00Z');
const DAY = 86_400_000;
const TTL = 14 * DAY;
const BY_CONTENT = { pullWhenMissing: true, tiesByContent: true };
const BY_TIE_BREAK = { pullWhenMissing: true, tiesByContent: false };

const row = (time: number, tieBreak: string[] = [''], identity?: string): SummaryRow => {
  const version: Version = { time, tieBreak, ...(identity !== undefined && { identity }) };
  return { key: 'k', certname: 'web1', version };
};

const base = (overrides: Partial<DecisionInput>): DecisionInput => ({ row: row(NOW - DAY), counterpart: undefined, rule: BY_CONTENT, keptByReportTtl: false, now: NOW, reportTtlMs: TTL, nodePurgeTtlMs: TTL, ...overrides });

const cases: [string, Partial<DecisionInput>, Decision][] = [
  ['the server lacks the record', {}, 'submit'],
  ['the server holds an older one', { counterpart: row(NOW - 2 * DAY, ['h1']) }, 'submit'],
  ['the server holds a newer one', { counterpart: row(NOW, ['h1']) }, 'held'],
  ['a factset or catalog of the same time (the broadcast reached it)', { row: row(NOW - DAY, ['', 'p']), counterpart: row(NOW - DAY, ['h1', 'p']) }, 'held'],
  ['a factset or catalog of the same time and another producer (a content tie: the sidecars decide)', { row: row(NOW - DAY, ['', 'a']), counterpart: row(NOW - DAY, ['h1', 'z']) }, 'held'],
  ['the same report (its transaction_uuid), whatever hash the server computed', { rule: BY_TIE_BREAK, keptByReportTtl: true, row: row(NOW - DAY, [''], 'tx'), counterpart: row(NOW - DAY, ['h1'], 'tx') }, 'held'],
  ['a report the server lacks', { rule: BY_TIE_BREAK, keptByReportTtl: true, row: row(NOW - DAY, [''], 'tx') }, 'submit'],
  ['a deactivation at the time of the node\'s newest data (the deactivation wins)', { rule: BY_TIE_BREAK, row: row(NOW - DAY, ['deactivated']), counterpart: row(NOW - DAY, ['active']) }, 'submit'],
  ['a deactivation the server already holds', { rule: BY_TIE_BREAK, row: row(NOW - DAY, ['deactivated']), counterpart: row(NOW - DAY, ['deactivated']) }, 'held'],
  ['a deactivation older than the node\'s data there', { rule: BY_TIE_BREAK, row: row(NOW - DAY, ['deactivated']), counterpart: row(NOW - DAY + 1, ['active']) }, 'held'],
  ['an expiration setting losing a tie by its tie-break', { rule: BY_TIE_BREAK, row: row(NOW - DAY, ['false']), counterpart: row(NOW - DAY, ['true']) }, 'held'],
  ['an expiration setting winning a tie by its tie-break', { rule: BY_TIE_BREAK, row: row(NOW - DAY, ['true']), counterpart: row(NOW - DAY, ['false']) }, 'submit'],
  ['an entity that does not pull missing records', { rule: { pullWhenMissing: false, tiesByContent: false } }, 'held'],
  ['the server\'s row could not be read', { counterpart: 'unreadable' }, 'unknown'],
  ['a report past report-ttl, though the server lacks it', { keptByReportTtl: true, reportTtlMs: DAY / 2 }, 'expired'],
  ['a report just within report-ttl', { keptByReportTtl: true, reportTtlMs: DAY }, 'submit'],
  ['a factset past report-ttl but within node-purge-ttl', { reportTtlMs: DAY / 2 }, 'submit'],
  ['anything past node-purge-ttl', { nodePurgeTtlMs: DAY / 2 }, 'expired'],
  ['expiry before an unreadable server row', { nodePurgeTtlMs: DAY / 2, counterpart: 'unreadable' }, 'expired'],
];

describe('decide', () => {
  it.each(cases)('%s', (_name, overrides, expected) => {
    expect(decide(base(overrides))).toBe(expected);
  });
});
