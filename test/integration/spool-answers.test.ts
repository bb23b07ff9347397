import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pino from 'pino';

import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { parseSpoolConfig } from '../../src/config/load-spool.ts';
import { Journal } from '../../src/spool/journal.ts';
import { SpoolService } from '../../src/spool/spool-service.ts';
import { query } from './pdb.ts';

/**
 * The spool answers the terminus as PuppetDB does: the same requests sent to a real
 * PuppetDB and to the spool get the same status and the same body (uuids aside), and
 * what the spool journaled is exactly what PuppetDB applied (the nodes it wrote, a
 * payload naming another certname than its parameter included: PuppetDB applies it). The 413 of
 * max-command-size is left out: PuppetDB answers it only with reject-large-commands,
 * off by default (test/unit/spool/command-api.test.ts checks the spool's).
 */

const [server] = inject('pdbServers') as [string];
const RUN = `spool-answers-${Date.now().toString(36)}`;
const NOW = new Date().toISOString();

const facts = (certname: string, extra: Record<string, unknown> = {}) => ({ certname, environment: 'production', producer_timestamp: NOW, producer: 'puppet.example.net', values: { case: certname }, ...extra });

interface Case {
  readonly name: string;
  /** The certname the case's command would write, when PuppetDB might apply it. */
  readonly certname: string;
  readonly query?: Record<string, string> | string;
  readonly headers?: Record<string, string>;
  readonly body: string | Buffer;
}

function cases(): Case[] {
  const name = (tag: string) => `${RUN}-${tag}.example.net`;
  const params = (certname: string, extra: Record<string, string> = {}) => ({ command: 'replace_facts', version: '5', certname, 'producer-timestamp': NOW, checksum: '0', ...extra });
  const text = (tag: string) => JSON.stringify(facts(name(tag)));
  return [
    { name: 'a good replace_facts', certname: name('good'), query: params(name('good')), body: text('good') },
    { name: 'a gzip body', certname: name('gzip'), query: params(name('gzip')), headers: { 'content-encoding': 'gzip', 'x-uncompressed-length': String(text('gzip').length) }, body: gzipSync(text('gzip')) },
    { name: 'a wrong checksum', certname: name('checksum'), query: params(name('checksum'), { checksum: 'deadbeef' }), body: text('checksum') },
    { name: 'a body that is not JSON', certname: name('badjson'), query: params(name('badjson')), body: '{"certname": "' },
    { name: 'a payload certname that differs (PuppetDB applies it under the payload\'s)', certname: name('mismatch'), query: params(name('mismatch-param')), body: text('mismatch') },
    { name: 'a retired version', certname: name('retired'), query: params(name('retired'), { version: '3' }), body: text('retired') },
    { name: 'a version newer than supported', certname: name('toonew'), query: params(name('toonew'), { version: '6' }), body: text('toonew') },
    { name: 'a version that is not an integer', certname: name('nonint'), query: params(name('nonint'), { version: 'v5' }), body: text('nonint') },
    { name: 'an unknown command', certname: name('unknown'), query: params(name('unknown'), { command: 'replace_fact' }), body: text('unknown') },
    { name: 'a blank certname', certname: name('blank'), query: params(' '), body: text('blank') },
    { name: 'missing parameters', certname: name('missing'), query: { command: 'replace_facts' }, body: text('missing') },
    { name: 'unknown parameters', certname: name('unknownparams'), query: params(name('unknownparams'), { colour: 'blue', zz: '1', aa: '2' }), body: text('unknownparams') },
    { name: 'an unsupported content encoding', certname: name('br'), query: params(name('br')), headers: { 'content-encoding': 'br' }, body: text('br') },
    { name: 'an unsupported content type', certname: name('ctype'), query: params(name('ctype')), headers: { 'content-type': 'text/plain' }, body: text('ctype') },
    { name: 'a client that does not accept JSON', certname: name('accept'), query: params(name('accept')), headers: { accept: 'application/json;q=0.9' }, body: text('accept') },
    { name: 'no version', certname: name('noversion'), query: { command: 'replace_facts', certname: name('noversion') }, body: text('noversion') },
    { name: 'a repeated certname', certname: name('twice'), query: `command=replace_facts&version=5&certname=${name('twice')}&certname=${name('twice')}`, body: text('twice') },
    { name: 'a deactivate_node without producer timestamp parameter', certname: name('deactivate'), query: { command: 'deactivate_node', version: '3', certname: name('deactivate') }, body: JSON.stringify({ certname: name('deactivate'), producer_timestamp: NOW }) },
    { name: 'the old format', certname: name('old'), body: JSON.stringify({ command: 'replace facts', version: 5, payload: facts(name('old')) }) },
    { name: 'the old format without a payload', certname: name('oldbad'), body: JSON.stringify({ command: 'replace facts', version: 5 }) },
  ];
}

interface Answer {
  readonly status: number;
  readonly contentType: string;
  /** The body, a uuid replaced by "UUID". */
  readonly body: string;
}

async function send(base: string, c: Case): Promise<Answer> {
  const search = c.query === undefined ? '' : `?${new URLSearchParams(c.query)}`;
  const response = await fetch(`${base}/pdb/cmd/v1${search}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...c.headers },
    body: typeof c.body === 'string' ? c.body : new Uint8Array(c.body),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.text()).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID');
  return { status: response.status, contentType: (response.headers.get('content-type') ?? '').split(';')[0]!.toLowerCase(), body };
}

let dir: string;
let service: SpoolService;
const answers = new Map<string, { puppetdb: Answer; spool: Answer }>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pdbsync-spool-answers-'));
  const config = await parseSpoolConfig(`spool { servers = ["${server}"], journal-dir = "${join(dir, 'journal')}" }\nhttp { port = 1 }\n`, join(dir, 'spool.conf'));
  service = await SpoolService.start({ ...config, http: { ...config.http, port: 0 } }, pino({ level: 'silent' }), {
    processMetrics: false,
    delivery: () => ({ start: () => {}, stop: async () => {}, useTls: () => {} }),
  });
  for (const c of cases()) answers.set(c.name, { puppetdb: await send(server, c), spool: await send(service.address, c) });
}, 120_000);

afterAll(async () => {
  await service?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the spool answers as a real PuppetDB', () => {
  it.each(cases().map((c) => [c.name]))('%s: the same status, content type and body', (name) => {
    const { puppetdb, spool } = answers.get(name)!;
    expect(spool.status).toBe(puppetdb.status);
    expect(spool.contentType).toBe(puppetdb.contentType);
    // The same JSON (uuids aside), or the same text.
    if (puppetdb.contentType === 'application/json') expect(JSON.parse(spool.body)).toEqual(JSON.parse(puppetdb.body));
    else expect(spool.body).toBe(puppetdb.body);
  });

  it('journaled exactly the commands PuppetDB applied', async () => {
    await waitForQueueDrained(server);
    // Every node a command of this run wrote: facts, and the deactivated node.
    const nodes = await query(server, ['from', 'nodes', ['and', ['~', 'certname', `^${RUN}-`], ['=', 'node_state', 'any']]]);
    const applied = nodes.map((row) => row['certname'] as string);
    await service.stop();
    const journal = Journal.open(join(dir, 'journal'), [server], { maxBytes: 1 << 30, maxAgeMs: 86_400_000 }, { dropped: () => {} });
    const journaled = journal.since(0, 0, 1000).map((command) => command.certname);
    journal.close();
    expect(applied.length).toBeGreaterThanOrEqual(5);
    expect(journaled.sort()).toEqual(applied.sort());
  }, 400_000);
});
