import { gzipSync } from 'node:zlib';

import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';

import { SyncError } from '../../../src/errors.ts';
import type { CommandToJournal } from '../../../src/spool/command-checks.ts';
import { SpoolMetrics } from '../../../src/spool/metrics.ts';
import { buildSpoolHttp } from '../../../src/spool/spool-http.ts';

const FACTS = { certname: 'web1.example.net', environment: 'production', producer_timestamp: '2026-12-05T07:00:00.000Z', producer: 'puppet.example.net', values: { os: 'Debian' } };
const FACTS_TEXT = JSON.stringify(FACTS);
const QUERY = 'command=replace_facts&version=5&certname=web1.example.net&producer-timestamp=2026-12-05T07:00:00.000Z&checksum=0';
const MAX = 64 * 1024;

/** A journal that records what it is given and answers a uuid, or fails as told. */
class FakeJournal {
  readonly appended: CommandToJournal[] = [];
  failWith: Error | undefined;
  async append(command: CommandToJournal): Promise<string> {
    if (this.failWith) throw this.failWith;
    this.appended.push(command);
    return `00000000-0000-4000-8000-${String(this.appended.length).padStart(12, '0')}`;
  }
}

let app: FastifyInstance;
let journal: FakeJournal;
let metrics: SpoolMetrics;
let journalFailure: Error | undefined;

function start(): void {
  journal = new FakeJournal();
  journalFailure = undefined;
  metrics = new SpoolMetrics({ stats: () => ({ commands: 0, bytes: 0, oldestReceivedAt: null, pending: new Map() }), maxBytes: 1 << 30, servers: ['http://a:8080'], processMetrics: false });
  app = buildSpoolHttp({ journal, maxCommandBytes: MAX, metrics, journalFailure: () => journalFailure, log: pino({ level: 'silent' }) });
}

afterEach(async () => app?.close());

interface Case {
  readonly name: string;
  readonly method?: 'POST' | 'GET';
  readonly query?: string;
  /** Over JSON_HEADERS; undefined leaves one out. */
  readonly headers?: Record<string, string | undefined>;
  readonly body?: string | Buffer;
  readonly status: number;
  /** The exact body (uuids aside): JSON compared parsed, text as is. */
  readonly answer?: unknown;
  /** The refused_total reason counted; none for a command journaled. */
  readonly reason?: string;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
const invalid = (command: string, certname: string) => `Command ${command} for certname ${certname} is invalid.`;

const CASES: readonly Case[] = [
  { name: 'a good replace_facts', query: QUERY, body: FACTS_TEXT, status: 200 },
  { name: 'a gzip body', query: QUERY, headers: { 'content-encoding': 'gzip', 'x-uncompressed-length': String(FACTS_TEXT.length) }, body: gzipSync(FACTS_TEXT), status: 200 },
  { name: 'a wrong checksum (not checked, as PuppetDB)', query: QUERY.replace('checksum=0', 'checksum=deadbeef'), body: FACTS_TEXT, status: 200 },
  { name: 'secondsToWaitForCompletion (answered at once)', query: `${QUERY}&secondsToWaitForCompletion=5`, body: FACTS_TEXT, status: 200 },
  { name: 'a body that is not JSON (dead-lettered)', query: QUERY, body: '{"certname":', status: 200, reason: 'not-json' },
  { name: 'a gzip body that does not gunzip (dead-lettered)', query: QUERY, headers: { 'content-encoding': 'gzip' }, body: 'not gzip', status: 200, reason: 'not-json' },
  { name: 'a payload certname that differs (applied by PuppetDB under the payload\'s)', query: QUERY.replace('certname=web1', 'certname=web2'), body: FACTS_TEXT, status: 200 },
  { name: 'a payload without a certname (dead-lettered)', query: QUERY, body: JSON.stringify({ ...FACTS, certname: undefined }), status: 200, reason: 'no-certname' },
  { name: 'a version newer than PuppetDB supports (dead-lettered)', query: QUERY.replace('version=5', 'version=6'), body: FACTS_TEXT, status: 200, reason: 'unsupported-version' },
  { name: 'no producer timestamp anywhere (dead-lettered)', query: 'command=deactivate_node&version=3&certname=web1.example.net', body: JSON.stringify({ certname: 'web1.example.net' }), status: 200, reason: 'no-producer-timestamp' },
  { name: 'a retired version', query: QUERY.replace('version=5', 'version=3'), body: FACTS_TEXT, status: 400, answer: { error: `${invalid('"replace facts"', '"web1.example.net"')} Version 3 of command "replace facts" is retired. The minimum supported version is 4.` }, reason: 'retired-version' },
  { name: 'a version that is not an integer', query: QUERY.replace('version=5', 'version=five'), body: FACTS_TEXT, status: 400, answer: { error: `${invalid('"replace facts"', '"web1.example.net"')} Version must be a valid integer.` }, reason: 'version' },
  {
    name: 'an unknown command',
    query: QUERY.replace('replace_facts', 'replace_fact'),
    body: FACTS_TEXT,
    status: 400,
    answer: { error: `${invalid('"replace fact"', '"web1.example.net"')} Command must be one of: configure expiration, deactivate node, replace catalog, replace catalog inputs, replace facts, store report.` },
    reason: 'unknown-command',
  },
  { name: 'a blank certname', query: QUERY.replace('certname=web1.example.net', 'certname=%20'), body: FACTS_TEXT, status: 400, answer: { error: `${invalid('"replace facts"', '" "')} Certname must be a non-empty string.` }, reason: 'certname' },
  { name: 'missing parameters (a missing version is not valid, as in PuppetDB)', query: 'command=replace_facts', body: FACTS_TEXT, status: 400, answer: { error: `${invalid('"replace facts"', 'nil')} Command is missing required parameters: certname.` }, reason: 'missing-parameters' },
  { name: 'no version', query: 'command=replace_facts&certname=a', body: FACTS_TEXT, status: 400, answer: { error: `${invalid('"replace facts"', '"a"')} Version must be a valid integer.` }, reason: 'version' },
  {
    name: 'the old format without a certname in its payload',
    body: JSON.stringify({ command: 'replace facts', version: 5, payload: { values: {} } }),
    status: 400,
    answer: { error: `${invalid('"replace facts"', 'nil')} Command is missing required parameters: certname.` },
    reason: 'missing-parameters',
  },
  { name: 'an unknown parameter', query: `${QUERY}&colour=blue`, body: FACTS_TEXT, status: 400, answer: { error: `${invalid('"replace facts"', '"web1.example.net"')} Command has invalid parameters: colour.` }, reason: 'invalid-parameters' },
  { name: 'an unsupported content encoding', query: QUERY, headers: { 'content-encoding': 'br' }, body: FACTS_TEXT, status: 415, answer: 'content encoding br not supported', reason: 'content-encoding' },
  { name: 'an unsupported content type', query: QUERY, headers: { 'content-type': 'text/plain' }, body: FACTS_TEXT, status: 415, answer: { kind: 'unsupported-type', msg: 'content-type text/plain is not a supported type for request of type :post at /pdb/cmd/v1' }, reason: 'content-type' },
  { name: 'a client that does not accept JSON', query: QUERY, headers: { accept: 'text/html' }, body: FACTS_TEXT, status: 406, answer: { kind: 'not-acceptable', msg: 'accept header must include application/json' }, reason: 'not-acceptable' },
  { name: 'an uncompressed length above max-command-size', query: QUERY, headers: { 'content-encoding': 'gzip', 'x-uncompressed-length': String(MAX + 1) }, body: gzipSync(FACTS_TEXT), status: 413, answer: 'Command rejected due to size exceeding max-command-size', reason: 'too-large' },
  { name: 'a gzip body that inflates past max-command-size', query: QUERY, headers: { 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify({ ...FACTS, values: { big: 'x'.repeat(MAX) } })), status: 413, answer: 'Command size exceeds max-command-size', reason: 'too-large' },
  { name: 'no content type (PuppetDB takes the body as JSON)', query: QUERY, headers: { 'content-type': undefined }, body: FACTS_TEXT, status: 200 },
  { name: 'the old format', body: JSON.stringify({ command: 'replace facts', version: 5, payload: FACTS }), status: 200 },
  {
    name: 'the old format without a payload',
    body: JSON.stringify({ command: 'replace facts', version: 5 }),
    status: 400,
    answer: { error: `${invalid('"replace facts"', 'nil')} Command was submitted without query parameters (old format). The request body must be a JSON map with required keys: command, version, payload.` },
    reason: 'old-format',
  },
  { name: 'the old format with a payload that is not a map', body: JSON.stringify({ command: 'replace facts', version: 5, payload: [1] }), status: 400, answer: { error: `${invalid('"replace facts"', 'nil')} Command was submitted without query parameters (old format). The payload value must be a JSON map.` }, reason: 'old-format' },
];

describe('the command API answers as PuppetDB does', () => {
  it.each(CASES)('$name: $status', async ({ method, query, headers, body, status, answer, reason }) => {
    start();
    const sent = Object.fromEntries(Object.entries({ ...JSON_HEADERS, ...headers }).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const response = await app.inject({ method: method ?? 'POST', url: `/pdb/cmd/v1${query ? `?${query}` : ''}`, headers: sent, payload: body });
    expect(response.statusCode).toBe(status);
    if (status === 200) expect(JSON.parse(response.body)).toEqual({ uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    if (answer !== undefined) {
      if (typeof answer === 'string') expect(response.body).toBe(answer);
      else if (response.headers['content-type'] !== 'application/json;charset=utf-8') expect.fail(`${response.headers['content-type']} is not PuppetDB's JSON type`);
      else expect(JSON.parse(response.body)).toEqual(answer);
    }
    const journaled = status === 200 && reason === undefined;
    expect(journal.appended).toHaveLength(journaled ? 1 : 0);
    const text = await metrics.text();
    if (reason !== undefined) expect(text).toContain(`pdbsync_spool_refused_total{reason="${reason}"} 1`);
    else expect(text).not.toContain('pdbsync_spool_refused_total{');
  });

  it('journals the body as received, with its encoding and the command as the API names it', async () => {
    start();
    const gzipped = gzipSync(FACTS_TEXT);
    const response = await app.inject({ method: 'POST', url: `/pdb/cmd/v1?${QUERY.replace('&producer-timestamp=2026-12-05T07:00:00.000Z', '')}`, headers: { ...JSON_HEADERS, 'content-encoding': 'gzip' }, payload: gzipped });
    expect(JSON.parse(response.body)).toEqual({ uuid: '00000000-0000-4000-8000-000000000001' });
    expect(response.body).toBe('{\n  "uuid" : "00000000-0000-4000-8000-000000000001"\n}');
    expect(response.headers['content-type']).toBe('application/json;charset=utf-8');
    expect(journal.appended).toEqual([{ command: 'replace_facts', version: 5, certname: 'web1.example.net', producerTimestamp: FACTS.producer_timestamp, body: gzipped, encoding: 'gzip' }]);
    expect(await metrics.text()).toContain('pdbsync_spool_received_total{command="replace_facts"} 1');
  });

  it('journals a command whose parameter names another certname under the payload\'s, as PuppetDB applies it', async () => {
    start();
    await app.inject({ method: 'POST', url: `/pdb/cmd/v1?${QUERY.replace('certname=web1', 'certname=web2')}`, headers: JSON_HEADERS, payload: FACTS_TEXT });
    expect(journal.appended[0]?.certname).toBe('web1.example.net');
  });

  it('journals the old format\'s payload alone, as JSON', async () => {
    start();
    await app.inject({ method: 'POST', url: '/pdb/cmd/v1', headers: JSON_HEADERS, payload: JSON.stringify({ command: 'replace facts', version: 5, payload: FACTS }) });
    expect(journal.appended[0]).toMatchObject({ command: 'replace_facts', certname: FACTS.certname, encoding: 'identity' });
    expect(JSON.parse(journal.appended[0]!.body.toString())).toEqual(FACTS);
  });

  it.each([
    ['full', new SyncError('PDBSYNC_ERR_SPOOL_FULL', 'pending fill spool.max-size')],
    ['journal', new SyncError('PDBSYNC_ERR_SPOOL_JOURNAL', 'disk I/O error')],
  ] as const)('answers 503 with a JSON error when the journal is %s, and /health says why', async (reason, error) => {
    start();
    journal.failWith = error;
    if (reason === 'journal') journalFailure = error;
    const response = await app.inject({ method: 'POST', url: `/pdb/cmd/v1?${QUERY}`, headers: JSON_HEADERS, payload: FACTS_TEXT });
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body).error).toContain(error.code);
    expect(await metrics.text()).toContain(`pdbsync_spool_unavailable_total{reason="${reason}"} 1`);
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(503);
    expect(health.json()).toEqual({ status: 'failing', reasons: [expect.stringContaining(error.code)] });

    journal.failWith = undefined;
    journalFailure = undefined;
    expect((await app.inject({ method: 'POST', url: `/pdb/cmd/v1?${QUERY}`, headers: JSON_HEADERS, payload: FACTS_TEXT })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
  });

  it('counts every refusal and logs one warning per reason a minute', async () => {
    journal = new FakeJournal();
    const lines: string[] = [];
    let now = 1_000_000;
    metrics = new SpoolMetrics({ stats: () => ({ commands: 0, bytes: 0, oldestReceivedAt: null, pending: new Map() }), maxBytes: 1 << 30, servers: [], processMetrics: false });
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    app = buildSpoolHttp({ journal, maxCommandBytes: MAX, metrics, journalFailure: () => undefined, log, now: () => now });
    const send = (version: string) => app.inject({ method: 'POST', url: `/pdb/cmd/v1?${QUERY.replace('version=5', `version=${version}`)}`, headers: JSON_HEADERS, payload: FACTS_TEXT });
    await send('3');
    await send('2');
    await send('x');
    now += 61_000;
    await send('1');
    expect(await metrics.text()).toContain('pdbsync_spool_refused_total{reason="retired-version"} 3');
    const warned = lines.map((line) => JSON.parse(line) as { reason: string; level: number });
    expect(warned.map((line) => line.reason)).toEqual(['retired-version', 'version', 'retired-version']);
    expect(warned.every((line) => line.level === 40)).toBe(true);
  });

  it('refuses a body past max-command-size sent without a length as PuppetDB\'s overflowing stream does', async () => {
    start();
    const response = await app.inject({ method: 'POST', url: `/pdb/cmd/v1?${QUERY}`, headers: { ...JSON_HEADERS, 'transfer-encoding': 'chunked' }, payload: 'x'.repeat(MAX + 10) });
    expect(response.statusCode).toBe(413);
    expect(journal.appended).toHaveLength(0);
  });
});
