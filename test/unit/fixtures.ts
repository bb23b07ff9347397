import type { SummaryContext } from '../../src/entities/entity.ts';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { streamJsonArray } from '../../src/puppetdb/json-stream.ts';

/** The fixture's exact text, for comparing with what a payload serialises to. */
export function fixtureText(path: string): string {
  return readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), 'utf8');
}

/** Parses a fixture the way the client parses a PuppetDB response (numbers kept exact). */
export async function parseFixture(path: string): Promise<unknown> {
  for await (const element of streamJsonArray(Readable.from([`[${fixtureText(path)}]`]), path)) return element;
  throw new Error(`${path} is empty`);
}

/** Canonical text of a JSON value, to compare payloads including exact number lexemes. */
export function canonical(value: unknown): string {
  return JSON.stringify(value);
}

export async function canonicalFixture(path: string): Promise<string> {
  return canonical(await parseFixture(path));
}

/** A summary context at a fixed time, with the default settings. */
export function summaryContext(overrides: Partial<SummaryContext> = {}): SummaryContext {
  return {
    now: Date.parse('2026-11-22T00:00:00.000Z'),
    firstPass: false,
    settings: {
      remotes: [],
      nodePurgeTtlMs: 14 * 86_400_000,
      reportTtlMs: 14 * 86_400_000,
      initialReportThresholdMs: 0,
      requestTimeoutMs: 60_000,
      concurrency: 4,
      maxRecordBytes: 67_108_864,
      entityTimeLimitMs: 30 * 60_000,
      progressIntervalMs: 30_000,
      jitterPercent: 10,
      backoffMaxMs: 10 * 60_000,
      queueLimit: 100,
      reconcileIntervalMs: 3_600_000,
      watermarkOverlapMs: 5 * 60_000,
      lateArrivalWindowMs: 3_600_000,
      relayScanIntervalMs: 60_000,
      reportSettleMs: 120_000,
    },
    ...overrides,
  };
}
