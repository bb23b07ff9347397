import { EcsFlat } from '@elastic/ecs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import type { LogFormat } from '../../src/config/types.ts';
import { createLogger, ECS_OBJECT_NAMES } from '../../src/log.ts';
import { runPass } from '../../src/sync/pass.ts';
import { clientFor, ENTITIES } from '../../src/wiring.ts';
import { checkLogLine, collectedLog, ecsProblems, takeLogViolations } from '../log-check.ts';
import { fakeServer, json, type Handler } from './fake-server.ts';
import { certnameAsked, emptyLocal, factset, factsetRow, factsetsServer, RECONCILE } from './sync/fake-puppetdb.ts';

/** When factset() records were produced: their summary rows must say the same. */
const PRODUCED = '2026-11-21T10:00:00.000Z';

/**
 * A remote whose factsets give every kind of line a pass writes: `a` transferred, `b`
 * refused once with 503 (a retry) then transferred, `c` a record PuppetDB would
 * refuse (a record error), `d` a summary row that cannot be read (skipped).
 */
function eventfulRemote(): Handler {
  const rows = [...['a', 'b', 'c'].map((certname) => factsetRow(certname, PRODUCED)), { ...factsetRow('d', PRODUCED), producer_timestamp: 'yesterday' }];
  const { handler } = factsetsServer(rows, { a: [factset('a')], b: [factset('b')], c: [{ certname: 'c' }] });
  let refused = false;
  return (request, body, response) => {
    const asked = request.url?.startsWith('/pdb/query') ? certnameAsked((JSON.parse(body) as { query: unknown }).query) : undefined;
    if (asked === 'b' && !refused) {
      refused = true;
      json(503, { error: 'maintenance' })(request, body, response);
    } else handler(request, body, response);
  };
}

/** Every line of one reconciliation from eventfulRemote, a bug's line and a child logger's line (as Fastify's, for an HTTP API request), in `format`. */
async function representativeLines(format: LogFormat): Promise<Array<Record<string, any>>> {
  const { log, lines } = collectedLog('debug', format);
  const [remote, local] = [await fakeServer([eventfulRemote()]), await fakeServer([emptyLocal])];
  const config = await parseConfig(`local: { server_url: "${local.url}" }\nsync: { remotes: [ { server_url: "${remote.url}" } ] }\n`, 'log-test.conf');
  const retry = { attempts: 2, initialDelayMs: 5, maxDelayMs: 5 };
  const [remoteClient, localClient] = [clientFor(remote.url, config, log, { retry }), clientFor(local.url, config, log, { retry })];
  try {
    await runPass({ remote: remoteClient, local: localClient, log, settings: config.sync, ...RECONCILE });
  } finally {
    await Promise.all([remoteClient.close(), localClient.close(), remote.close(), local.close()]);
  }
  log.child({ 'http.request.id': 'req-1' }).error({ err: new TypeError('a bug') }, 'HTTP API request failed');
  return lines;
}

const find = (lines: Array<Record<string, any>>, phase: string, event: string, field: (line: Record<string, any>) => unknown) =>
  lines.filter((line) => field(line) === phase && (line.sync_event ?? line.event?.action) === event);

describe('log lines, in either format, index under Filebeat\'s default ECS template', () => {
  it.each(['pe', 'ecs'] as const)('%s: every line of a representative pass', async (format) => {
    const lines = await representativeLines(format);
    // Each entity's start and end, the pass's, four records', a retry, a skipped row and the bug.
    expect(lines.length).toBeGreaterThanOrEqual(2 * ENTITIES.length + 2 + 6 + 1 + 1 + 1);
    for (const line of lines) expect(ecsProblems(line), JSON.stringify(line)).toEqual([]);
    expect(takeLogViolations()).toEqual({ checked: lines.length, violations: [] });
  });

  it('pe: PE\'s sync fields, facts for factsets, and the ECS names PE would clash with prefixed', async () => {
    const lines = await representativeLines('pe');
    const phaseOf = (line: Record<string, any>) => line.phase;
    expect(find(lines, 'entity', 'finished', phaseOf).find((line) => line.sync_entity === 'facts')).toMatchObject({
      level: 'info', logger: 'sync', ok: true, elapsed: expect.any(Number), remote: expect.any(String), kind: 'reconcile', transferred: 2, failed: 1, skipped: 1,
    });
    expect(find(lines, 'record', 'error', phaseOf)).toEqual([expect.objectContaining({ certname: 'c', ok: false, err: expect.objectContaining({ code: 'PDBSYNC_ERR_RECORD_MALFORMED' }) })]);
    expect(find(lines, 'request', 'retry', phaseOf)).toEqual([
      expect.objectContaining({ level: 'warn', remote: expect.stringMatching(/^http:/), attempt: 1, delayMs: expect.any(Number), err: expect.objectContaining({ code: 'PDBSYNC_ERR_HTTP_UNAVAILABLE' }) }),
    ]);
    expect(find(lines, 'sync', 'error', phaseOf)).toEqual([expect.objectContaining({ err: expect.objectContaining({ code: 'PDBSYNC_ERR_RECORDS_FAILED' }) })]);
    for (const line of lines) expect(Object.keys(line)).not.toEqual(expect.arrayContaining([expect.stringMatching(/^(event|entity|error|server)$/)]));
    expect(lines.at(-1)).toMatchObject({ 'http.request.id': 'req-1', err: { type: 'TypeError', stack: expect.any(String) } });
  });

  it('ecs: ECS fields where ECS has them, every other field under puppetdb_sync', async () => {
    const lines = await representativeLines('ecs');
    const phaseOf = (line: Record<string, any>) => line.puppetdb_sync?.phase;
    for (const line of lines) {
      expect(line).toMatchObject({ '@timestamp': expect.any(String), 'log.level': expect.any(String), message: expect.any(String), 'ecs.version': expect.any(String) });
      expect(line).toMatchObject({ 'service.name': 'puppetdb-sync', 'log.logger': 'sync', 'process.pid': process.pid });
    }
    const facts = find(lines, 'entity', 'finished', phaseOf).find((line) => line.puppetdb_sync.entity === 'facts')!;
    expect(facts).toMatchObject({ event: { action: 'finished', outcome: 'success' }, puppetdb_sync: { kind: 'reconcile', transferred: 2, failed: 1, skipped: 1 } });
    expect(facts.event.duration).toBe(facts.event.duration - (facts.event.duration % 1_000_000));
    const [recordError] = find(lines, 'record', 'error', phaseOf);
    expect(recordError).toMatchObject({ event: { outcome: 'failure' }, error: { code: 'PDBSYNC_ERR_RECORD_MALFORMED', type: 'SyncError' }, puppetdb_sync: { certname: 'c', retryable: false } });
    // An expected fault has no stack; a bug has.
    expect(recordError!.error).not.toHaveProperty('stack_trace');
    expect(find(lines, 'request', 'retry', phaseOf)).toEqual([expect.objectContaining({ event: { action: 'retry' }, error: expect.objectContaining({ code: 'PDBSYNC_ERR_HTTP_UNAVAILABLE' }) })]);
    expect(lines.at(-1)).toMatchObject({ 'http.request.id': 'req-1', error: { type: 'TypeError', message: 'a bug', stack_trace: expect.any(String) } });
  });

  it('pe and ecs: the same lines, phase for phase', async () => {
    const [pe, ecs] = [await representativeLines('pe'), await representativeLines('ecs')];
    const shape = (phase: unknown, event: unknown, entity: unknown) => `${String(phase)}/${String(event)}/${String(entity)}`;
    const peShapes = pe.map((line) => shape(line.phase, line.sync_event, line.sync_entity)).sort();
    expect(ecs.map((line) => shape(line.puppetdb_sync?.phase, line.event?.action, line.puppetdb_sync?.entity)).sort()).toEqual(peShapes);
  });
});

describe('the ECS check of log lines', () => {
  it.each([
    ['an ECS object given a string', { event: 'start' }, 'event is an ECS object'],
    ['error as a string', { error: 'boom' }, 'error is an ECS object'],
    ['host as a string', { host: 'pdb-a' }, 'host is an ECS object'],
    ['entity as a string', { entity: 'facts' }, 'entity is an ECS object'],
    ['a dotted ECS object given a number', { 'url.original': 3 }, 'url.original is an ECS wildcard'],
    ['an ECS long given a string', { event: { duration: '12' } }, 'event.duration is an ECS long'],
    ['an ECS date that is none', { '@timestamp': 'yesterday' }, '@timestamp is an ECS date'],
    ['an ECS scalar given an object', { message: { text: 'hi' } }, 'message is an ECS match_only_text'],
    ['an ECS line with a field of ours outside puppetdb_sync', { 'ecs.version': '8.10.0', phase: 'sync' }, 'phase is neither an ECS field nor under puppetdb_sync'],
  ])('refuses %s', (_what, line, problem) => {
    expect(ecsProblems(line).join('\n')).toContain(problem);
  });

  it('accepts ECS fields of the right type and fields of ours, and finds a key given twice', () => {
    expect(ecsProblems({ '@timestamp': '2026-11-21T10:00:00.000Z', 'log.level': 'info', event: { action: 'start', duration: 5 }, phase: 'sync', sync_event: 'start' })).toEqual([]);
    checkLogLine('{"message":"a","message":"b"}');
    checkLogLine('{"message":"a"}');
    expect(takeLogViolations()).toEqual({ checked: 2, violations: [expect.stringContaining('a key given twice')] });
  });
});

describe('the pe format', () => {
  it('knows every top-level ECS object, and prefixes a field of ours by that name with sync_', () => {
    const fields = Object.entries(EcsFlat as Record<string, { type: string }>);
    const objects = new Set(fields.flatMap(([name, field]) => (name.includes('.') ? [name.split('.')[0]!] : field.type === 'object' ? [name] : [])));
    expect([...ECS_OBJECT_NAMES].sort()).toEqual([...objects].sort());
    const written: string[] = [];
    createLogger('info', 'pe', { write: (text: string) => void written.push(text) }).info({ tls: true, host: 'a', phase: 'sync' }, 'listening');
    expect(JSON.parse(written[0]!)).toMatchObject({ sync_tls: true, sync_host: 'a', phase: 'sync' });
  });
});
