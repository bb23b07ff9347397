import { describe, expect, it } from 'vitest';
import { eventsToResources, parseReportSummary, reportCutoff, reportKey, reportToCommand, reports } from '../../../src/entities/reports.ts';
import { canonical, canonicalFixture, parseFixture, summaryContext } from '../fixtures.ts';

/** The fixture, changed by `change`, converted against the summary row of the fixture as it is. */
async function convert(change: (report: Record<string, any>) => void = () => undefined) {
  const row = parseReportSummary(await parseFixture('reports/query-result.json'));
  const report = (await parseFixture('reports/query-result.json')) as Record<string, any>;
  change(report);
  return reportToCommand(row, report);
}

describe('reports: query result -> store_report v8', () => {
  it('converts the fixture (a real PuppetDB 7 plan report) into the expected payload', async () => {
    const command = await convert();
    expect(command).toMatchObject({ command: 'store_report', version: 8, certname: 'rep1' });
    expect(canonical(command.payload)).toBe(await canonicalFixture('reports/command-payload.json'));
  });

  it('groups the events of one resource and marks a skipped resource', async () => {
    const payload = (await convert()).payload as { resources: Array<{ resource_title: string; skipped: boolean; events: unknown[] }> };
    expect(payload.resources.map((r) => [r.resource_title, r.skipped, r.events.length])).toEqual([
      ['/tmp/x', false, 2],
      ['skipme', true, 1],
    ]);
  });

  it('reads a report without events, logs or metrics (data: null)', async () => {
    const payload = (
      await convert((r) => {
        r.resource_events.data = null;
        r.logs.data = null;
        r.metrics.data = null;
      })
    ).payload;
    expect(payload).toMatchObject({ resources: [], logs: [], metrics: [] });
  });

  it('treats a report without a type as an agent report', async () => {
    expect((await convert((r) => delete r.type)).payload).toMatchObject({ type: 'agent' });
  });

  const malformed: Array<[string, (report: Record<string, any>) => void]> = [
    ['an unknown type', (r) => (r.type = 'task')],
    ['report_format not an integer', (r) => (r.report_format = '12')],
    ['no start_time', (r) => delete r.start_time],
    ['logs not expanded', (r) => (r.logs = null)],
    ['a log without a message', (r) => delete r.logs.data[0].message],
    ['a metric whose value is text', (r) => (r.metrics.data[0].value = 'fast')],
    ['an event without a status', (r) => delete r.resource_events.data[0].status],
    ['an event with a bad containment_path', (r) => (r.resource_events.data[0].containment_path = 'Main')],
    ['noop not a boolean', (r) => (r.noop = 'no')],
  ];
  it.each(malformed)('rejects a report with %s', async (_name, change) => {
    await expect(convert(change)).rejects.toThrow(/PDBSYNC_ERR_RECORD_MALFORMED/);
  });

  it('keeps resources apart that differ only in their containment path', () => {
    const event = { status: 'success', timestamp: '2026-11-22T00:00:00Z', resource_type: 'File', resource_title: '/a', file: null, line: null };
    const resources = eventsToResources(
      [
        { ...event, containment_path: ['Main', 'File[/a]'] },
        { ...event, containment_path: ['Other', 'File[/a]'] },
      ],
      'test',
    );
    expect(resources).toHaveLength(2);
  });
});

describe('reports: summaries', () => {
  const day = 86_400_000;

  it('keys a report by producer_timestamp, transaction_uuid and certname, and logs the hash', () => {
    const row = parseReportSummary({ hash: 'abc', certname: 'a', producer_timestamp: '2026-11-20T10:00:00Z', transaction_uuid: 'u1' });
    expect(row).toMatchObject({ key: '2026-11-20T10:00:00.000Z\0u1\0a\0', certname: 'a', version: { identity: 'u1' } });
    expect(reports.logFields!(row)).toEqual({ hash: 'abc' });
  });

  it('keys a time PuppetDB did not write as toISOString by its instant, as the same time written so', () => {
    const odd = parseReportSummary({ hash: 'abc', certname: 'a', producer_timestamp: '2026-11-20T11:00:00+01:00', transaction_uuid: 'u1' });
    const plain = parseReportSummary({ hash: 'abc', certname: 'a', producer_timestamp: '2026-11-20T10:00:00.000Z', transaction_uuid: 'u1' });
    expect(odd.key).toBe(plain.key);
  });

  it('keys a report without a transaction_uuid by its hash as well, after those with one', () => {
    const row = parseReportSummary({ hash: 'abc', certname: 'a', producer_timestamp: '2026-11-20T10:00:00Z', transaction_uuid: null });
    expect(row.key).toBe('2026-11-20T10:00:00.000Z\0\uffff\0a\0abc');
    expect(row.version).not.toHaveProperty('identity');
  });

  // The order PostgreSQL lists them in (producer_timestamp, transaction_uuid, certname, hash; NULL last) is the keys' order.
  it('keys ascend in the order the summary lists reports', () => {
    const listed: Array<[string, string | null, string, string]> = [
      ['2026-11-20T09:59:59.999Z', null, 'z', 'ff'],
      ['2026-11-20T10:00:00.000Z', '0b9d9b8e-0000-4000-8000-000000000001', 'b', 'ff'],
      ['2026-11-20T10:00:00.000Z', '0b9d9b8e-0000-4000-8000-00000000000a', 'a', '00'],
      ['2026-11-20T10:00:00.000Z', null, 'a', '11'],
      ['2026-11-20T10:00:00.000Z', null, 'a', '22'],
      ['2026-11-20T10:00:00.000Z', null, 'a-b', '00'],
      ['2026-11-20T10:00:00.000Z', null, 'ab', '00'],
    ];
    const keys = listed.map(([time, uuid, certname, hash]) => reportKey({ text: time, ms: Date.parse(time) }, uuid, certname, hash));
    expect([...keys].sort()).toEqual(keys);
    expect(new Set(keys).size).toBe(keys.length);
  });

  const cutoffs: Array<[string, Parameters<typeof summaryContext>[0], 'remote' | 'local', number]> = [
    ['report-ttl bounds a later pass', { firstPass: false }, 'remote', 14 * day],
    ['no threshold: report-ttl bounds the first pass too', { firstPass: true }, 'remote', 14 * day],
    ['the threshold bounds the first pass', { firstPass: true, settings: { ...summaryContext().settings, initialReportThresholdMs: 3_600_000 } }, 'remote', 3_600_000],
    ['the threshold is gone after the first pass', { firstPass: false, settings: { ...summaryContext().settings, initialReportThresholdMs: 3_600_000 } }, 'remote', 14 * day],
    ['a threshold longer than report-ttl changes nothing', { firstPass: true, settings: { ...summaryContext().settings, initialReportThresholdMs: 30 * day } }, 'remote', 14 * day],
    ['the local summary ignores the threshold', { firstPass: true, settings: { ...summaryContext().settings, initialReportThresholdMs: 3_600_000 } }, 'local', 14 * day],
  ];
  it.each(cutoffs)('%s', (_name, overrides, side, age) => {
    const context = summaryContext(overrides);
    expect(reportCutoff(context, side)).toBe(context.now - age);
  });
});

describe('reports: reconciliation parts', () => {
  const day = (text: string) => Date.parse(`${text}T00:00:00.000Z`);
  const counts = (rows: Array<[string, number]>) => ({
    async *query() {
      yield* rows.map(([to_string, count]) => ({ to_string, count }));
    },
  });

  it('cover everything from the cutoff on, in whole days of about 100,000 rows, newest first, the newest open-ended, each with the rows counted in it', async () => {
    const context = summaryContext();
    const parts = await reports.segments!(counts([['2026-11-20', 60_000], ['2026-11-18', 30_000], ['2026-11-19', 50_000], ['2026-11-21', 200_000]]), context);
    expect(parts).toEqual([
      { from: day('2026-11-21'), to: Number.POSITIVE_INFINITY, rows: 200_000 },
      { from: day('2026-11-20'), to: day('2026-11-21'), rows: 60_000 },
      { from: reportCutoff(context, 'remote'), to: day('2026-11-20'), rows: 80_000 },
    ]);
  });

  it('are one part when the remote holds no report', async () => {
    const context = summaryContext();
    expect(await reports.segments!(counts([]), context)).toEqual([{ from: reportCutoff(context, 'remote'), to: Number.POSITIVE_INFINITY, rows: 0 }]);
  });
});
