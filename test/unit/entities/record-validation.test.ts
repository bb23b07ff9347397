import { describe, expect, it } from 'vitest';
import { catalogInputsToCommand, parseCatalogInputsSummary } from '../../../src/entities/catalog-inputs.ts';
import { catalogToCommand, parseCatalogSummary } from '../../../src/entities/catalogs.ts';
import { expirationToCommand, parseExpirationSummary } from '../../../src/entities/fact-expiration.ts';
import { factsetToCommand, parseFactsetSummary } from '../../../src/entities/factsets.ts';
import { deactivationToCommand } from '../../../src/entities/nodes.ts';
import { parseReportSummary, reportToCommand } from '../../../src/entities/reports.ts';
import type { Command } from '../../../src/puppetdb/command.ts';
import type { PullReason } from '../../../src/types.ts';
import { parseFixture } from '../fixtures.ts';

type Change = (record: Record<string, any>) => void;

/**
 * Each entity's conversion of its fixture after `change`, against the summary row of
 * the fixture as it is: what the diff chose and what the remote then answered.
 */
const CONVERT: Record<'factsets' | 'catalogs' | 'catalog-inputs' | 'reports', (change: Change, reason?: PullReason) => Promise<Command>> = {
  factsets: (change) => convert('factsets', parseFactsetSummary, (row, record) => factsetToCommand(row, record, []), change),
  catalogs: (change) => convert('catalogs', parseCatalogSummary, catalogToCommand, change),
  'catalog-inputs': (change, reason = 'newer') => convert('catalog-inputs', parseCatalogInputsSummary, (row, record) => catalogInputsToCommand(row, record, reason), change),
  reports: (change) => convert('reports', parseReportSummary, reportToCommand, change),
};

async function convert<Row>(name: string, parse: (raw: unknown) => Row, toCommand: (row: Row, record: unknown) => Command, change: Change): Promise<Command> {
  const row = parse(await parseFixture(`${name}/query-result.json`));
  const record = (await parseFixture(`${name}/query-result.json`)) as Record<string, any>;
  change(record);
  return toCommand(row, record);
}

const RECORD_ENTITIES = Object.keys(CONVERT) as Array<keyof typeof CONVERT>;
const each = <T extends unknown[]>(cases: T[]) => RECORD_ENTITIES.flatMap((entity) => cases.map((c) => [entity, ...c] as [typeof entity, ...T]));

const BAD_TIMESTAMPS: Array<[string, string]> = [
  ['February 30th', '2024-02-30T00:00:00.000Z'],
  ['a bare number', '1'],
  ['words', 'March 7, 2024'],
  ['a signed year PuppetDB answers without the sign', '+275760-09-13T00:00:00.000Z'],
  ['an offset that carries 9999 into year 10000', '9999-12-31T23:00:00.000-05:00'],
  ['a date PuppetDB answers Julian-shifted', '1000-01-01T00:00:00.000Z'],
];

describe('records: timestamps', () => {
  it.each(each(BAD_TIMESTAMPS))('%s: refuses a producer_timestamp that is %s', async (entity, _name, text) => {
    await expect(CONVERT[entity]((r) => (r.producer_timestamp = text))).rejects.toThrow(/^PDBSYNC_ERR_RECORD_INVALID: .*producer_timestamp/);
  });

  const reportTimes: Array<[string, Change]> = [
    ['start_time', (r) => (r.start_time = '2024-02-30T00:00:00.000Z')],
    ['end_time', (r) => (r.end_time = '+10000-01-01T00:00:00.000Z')],
    ['a log time', (r) => (r.logs.data[0].time = 'March 7, 2024')],
    ['an event timestamp', (r) => (r.resource_events.data[0].timestamp = '1')],
  ];
  it.each(reportTimes)('reports: refuses a bad %s', async (_name, change) => {
    await expect(CONVERT.reports(change)).rejects.toThrow(/^PDBSYNC_ERR_RECORD_INVALID/);
  });

  it('catalog-inputs: refuses a tie at the last instant, as 1 ms later is year 10000', async () => {
    const change: Change = (r) => (r.producer_timestamp = '9999-12-31T23:59:59.999Z');
    const row = parseCatalogInputsSummary({ certname: 'web01.example.net', producer_timestamp: '9999-12-31T23:59:59.999Z', catalog_uuid: null });
    const record = (await parseFixture('catalog-inputs/query-result.json')) as Record<string, any>;
    change(record);
    expect(() => catalogInputsToCommand(row, record, 'tie')).toThrow(/^PDBSYNC_ERR_RECORD_INVALID/);
    expect(catalogInputsToCommand(row, record, 'newer').producerTimestamp).toBe('9999-12-31T23:59:59.999Z');
  });
});

const BAD_CERTNAMES: Array<[string, string]> = [
  ['a newline', 'web01\nevil'],
  ['a final newline (Ruby\'s \\Z lets it pass)', 'web01\n'],
  ['an ESC', 'web01\u001b[31m'],
  ['a right-to-left override', 'web01\u202eten.elpmaxe'],
  ['a slash', 'web/01'],
  ['upper case', 'Web01.example.net'],
  ['non-ASCII', 'wéb01'],
  ['a NUL', 'web01\u0000'],
  ['only spaces', '   '],
  ['nothing', ''],
];

describe('records: certnames, by Puppet\'s rule', () => {
  it.each(each(BAD_CERTNAMES))('%s: refuses a certname with %s', async (entity, _name, certname) => {
    await expect(CONVERT[entity]((r) => (r.certname = certname))).rejects.toThrow(/^PDBSYNC_ERR_RECORD_INVALID: .*certname/);
  });

  it.each(BAD_CERTNAMES)('fact-expiration and nodes: refuse a certname with %s', (_name, certname) => {
    const expiration = parseExpirationSummary({ certname, expires_facts: false, expires_facts_updated: '2026-11-20T10:00:00.000Z' });
    expect(() => expirationToCommand(expiration, 'newer')).toThrow(/^PDBSYNC_ERR_RECORD_INVALID/);
    const node = { key: certname, certname, deactivated: '2026-11-20T10:00:00.000Z', version: { time: 0, tieBreak: [] } };
    expect(() => deactivationToCommand(node)).toThrow(/^PDBSYNC_ERR_RECORD_INVALID/);
  });

  it('writes an escaped certname in the message, cut short', async () => {
    const error = await CONVERT.factsets((r) => (r.certname = `web01\u202e${'x'.repeat(500)}`)).catch((e: Error) => e);
    expect((error as Error).message).toContain('web01\\u202exxx');
    expect((error as Error).message.length).toBeLessThan(400);
  });

  it.each([['web01.example.net'], ['a_b-c.d:e@f'], ['with space'], ['~tilde']])('accepts %s', async (certname) => {
    const command = await CONVERT.factsets((r) => (r.certname = certname));
    expect(command.certname).toBe(certname);
  });
});

describe('records: the one the summary row names', () => {
  const cases: Array<[keyof typeof CONVERT, string, Change]> = [
    ['factsets', 'a later producer_timestamp', (r) => (r.producer_timestamp = '2026-11-21T10:00:00.000Z')],
    ['factsets', 'another hash', (r) => (r.hash = 'ffff')],
    ['catalogs', 'an earlier producer_timestamp', (r) => (r.producer_timestamp = '2026-11-19T10:00:00.000Z')],
    ['catalogs', 'another hash', (r) => (r.hash = 'ffff')],
    ['catalog-inputs', 'another producer_timestamp', (r) => (r.producer_timestamp = '2026-11-21T10:00:00.000Z')],
    ['reports', 'another hash', (r) => (r.hash = 'ffff')],
    ['reports', 'another producer_timestamp', (r) => (r.producer_timestamp = '2026-11-21T10:00:00.000Z')],
  ];
  it.each(cases)('%s: refuses a record with %s', async (entity, _name, change) => {
    await expect(CONVERT[entity](change)).rejects.toThrow(/^PDBSYNC_ERR_RECORD_MISMATCH: .*its summary row's is/);
  });

  it('takes the same instant written another way', async () => {
    const command = await CONVERT.factsets((r) => (r.producer_timestamp = '2026-11-20T11:00:00.123+01:00'));
    expect(command.producerTimestamp).toBe('2026-11-20T11:00:00.123+01:00');
  });
});

describe('records: numbers, metrics and logs as store_report v8 takes them', () => {
  const malformed: Array<[string, Change]> = [
    ['a metric value that is an object', (r) => (r.metrics.data[0].value = { evil: [1] })],
    ['a metric value that is an array', (r) => (r.metrics.data[0].value = [1])],
    ['a metric value that is null', (r) => (r.metrics.data[0].value = null)],
    ['a metric that is not an object', (r) => (r.metrics.data[0] = 5)],
    ['a metric without a name', (r) => delete r.metrics.data[0].name],
    ['report_format as text', (r) => (r.report_format = '12')],
    ['a fractional report_format', (r) => (r.report_format = 12.5)],
    ['a log that is a string', (r) => (r.logs.data[0] = 'error')],
    ['a log level that is a number', (r) => (r.logs.data[0].level = 3)],
    ['a log tag that is a number', (r) => (r.logs.data[0].tags = ['a', 1])],
    ['a fractional log line', (r) => (r.logs.data[0].line = 1.5)],
    ['a log without a source', (r) => delete r.logs.data[0].source],
    ['an event line as text', (r) => (r.resource_events.data[0].line = '12')],
  ];
  it.each(malformed)('refuses %s as malformed', async (_name, change) => {
    await expect(CONVERT.reports(change)).rejects.toThrow(/^PDBSYNC_ERR_RECORD_MALFORMED/);
  });

  const invalid: Array<[string, Change]> = [
    ['a metric value past a double', (r) => (r.metrics.data[0].value = JSON.rawJSON('1e400'))],
    ['report_format past smallint', (r) => (r.report_format = 40_000)],
    ['a log line past integer', (r) => (r.logs.data[0].line = 2 ** 31)],
    ['an event line past integer', (r) => (r.resource_events.data[0].line = -(2 ** 31) - 1)],
    ['a NUL in a log message', (r) => (r.logs.data[0].message = 'a\u0000b')],
    ['a lone surrogate in a log tag', (r) => (r.logs.data[0].tags = ['\ud800'])],
  ];
  it.each(invalid)('refuses %s as invalid', async (_name, change) => {
    await expect(CONVERT.reports(change)).rejects.toThrow(/^PDBSYNC_ERR_RECORD_INVALID/);
  });

  it('keeps a metric value\'s exact text (1.0, integers past 2^53)', async () => {
    const command = await CONVERT.reports((r) => {
      r.metrics.data[0].value = JSON.rawJSON('1.0');
      r.metrics.data[1].value = JSON.rawJSON('12345678901234567890');
    });
    const metrics = (command.payload as { metrics: Array<{ value: unknown }> }).metrics;
    expect(JSON.stringify(metrics.slice(0, 2).map((m) => m.value))).toBe('[1.0,12345678901234567890]');
  });
});

describe('records: text PostgreSQL stores unchanged', () => {
  const cases: Array<[keyof typeof CONVERT, string, Change]> = [
    ['factsets', 'a NUL in the environment', (r) => (r.environment = 'prod\u0000')],
    ['factsets', 'a lone surrogate in a fact name', (r) => r.facts.data.push({ name: 'x\udc00', value: 1 })],
    ['catalogs', 'a NUL in a resource title', (r) => (r.resources.data[0].title = 'a\u0000')],
    ['catalogs', 'a lone surrogate in a tag', (r) => (r.resources.data[0].tags = ['\ud800'])],
    ['catalog-inputs', 'a NUL in an input name', (r) => (r.inputs = [['hiera', 'a\u0000']])],
    ['reports', 'a NUL in the puppet_version', (r) => (r.puppet_version = '7\u0000')],
    ['factsets', 'a NUL in a fact value', (r) => r.facts.data.push({ name: 'motd', value: { lines: ['a\u0000'] } })],
    ['factsets', 'a NUL in a structured fact key', (r) => r.facts.data.push({ name: 'structured', value: { 'a\u0000': 1 } })],
    ['factsets', 'a fact value past a double (stored as "Infinity")', (r) => r.facts.data.push({ name: 'big', value: JSON.rawJSON('1e400') })],
    ['factsets', 'a nested fact value past a double', (r) => r.facts.data.push({ name: 'disks', value: { sda: { size: [JSON.rawJSON('-1e400')] } } })],
    ['catalogs', 'a resource parameter past a double', (r) => (r.resources.data[0].parameters = { size: JSON.rawJSON('1e400') })],
    ['reports', 'an event value past a double', (r) => (r.resource_events.data[0].new_value = JSON.rawJSON('1e400'))],
  ];
  it.each(cases)('%s: refuses %s', async (entity, _name, change) => {
    await expect(CONVERT[entity](change)).rejects.toThrow(/^PDBSYNC_ERR_RECORD_INVALID/);
  });

  it('keeps a fact value\'s exact numbers', async () => {
    const command = await CONVERT.factsets((r) => r.facts.data.push({ name: 'exact', value: [JSON.rawJSON('1.0'), JSON.rawJSON('12345678901234567890'), JSON.rawJSON('1e300')] }));
    expect(JSON.stringify((command.payload as { values: Record<string, unknown> }).values.exact)).toBe('[1.0,12345678901234567890,1e300]');
  });

  it('takes text outside ASCII that is well formed', async () => {
    const command = await CONVERT.catalogs((r) => (r.resources.data[0].title = 'café 😀'));
    expect(JSON.stringify(command.payload)).toContain('café 😀');
  });
});
