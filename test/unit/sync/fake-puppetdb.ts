import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach } from 'vitest';
import { PuppetDbClient } from '../../../src/puppetdb/client.ts';
import { TieMemo } from '../../../src/sync/content-tie.ts';
import { MemorySyncState } from '../../../src/sync/sync-state.ts';
import { ENTITIES, NODE_PURGE_EXCLUSIONS } from '../../../src/wiring.ts';
import { fakeServer, json, type FakeServer, type Handler } from '../fake-server.ts';
import { collectedLog } from '../../log-check.ts';

/** A command the fake PuppetDB was sent. */
export interface Submitted {
  readonly command: string;
  readonly certname: string;
  readonly payload: Record<string, unknown>;
}

/** What a query is answered with: rows, or a raw body (for JSON no encoder writes, such as nesting 100,000 deep). */
export type Answer = readonly unknown[] | string;

/**
 * A fake PuppetDB for a pass: each query (its AST) answered by `answer`, every command
 * recorded in `submitted` and answered as applied, the command queue always empty.
 */
export function fakePuppetDb(answer: (query: unknown[]) => Answer = () => []): { handler: Handler; submitted: Submitted[] } {
  const submitted: Submitted[] = [];
  const handler: Handler = (request, body, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    if (url.pathname === '/pdb/cmd/v1') {
      const { command, certname } = Object.fromEntries(url.searchParams) as { command: string; certname: string };
      submitted.push({ command, certname, payload: JSON.parse(body) as Record<string, unknown> });
      json(200, { uuid: `u${submitted.length}`, processed: true, timed_out: false })(request, body, response);
    } else if (url.pathname.startsWith('/status')) {
      json(200, { status: { queue_depth: 0 } })(request, body, response);
    } else {
      const rows = answer((JSON.parse(body) as { query: unknown[] }).query);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(typeof rows === 'string' ? rows : JSON.stringify(rows));
    }
  };
  return { handler, submitted };
}

/** The parts of a query AST a fake needs: the entity it is from, and whether it lists summary rows, an aggregate or whole records. */
export function queryKind(query: unknown[]): { entity: string; kind: 'summary' | 'aggregate' | 'record' } {
  const [, entity, clause] = query as [string, string, unknown];
  if (!Array.isArray(clause) || clause[0] !== 'extract') return { entity, kind: 'record' };
  const fields = clause[1] as unknown[];
  return { entity, kind: fields.some((field) => Array.isArray(field)) ? 'aggregate' : 'summary' };
}

/** The certname a record query asks for: the first `["=", "certname", name]` in it. */
export function certnameAsked(query: unknown): string | undefined {
  if (!Array.isArray(query)) return undefined;
  if (query[0] === '=' && query[1] === 'certname' && typeof query[2] === 'string') return query[2];
  for (const part of query) {
    const found = certnameAsked(part);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Clients on fake servers, closed with their servers after each test of the calling file. */
export function fakeClients(): (handler: Handler) => Promise<PuppetDbClient> {
  const servers: FakeServer[] = [];
  const clients: PuppetDbClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });
  return async (handler) => {
    const server = await fakeServer([handler]);
    servers.push(server);
    const client = new PuppetDbClient(server.url, { timeoutMs: 5_000 });
    clients.push(client);
    return client;
  };
}

/** A factsets summary row of `certname`, produced at `time`, whose hash names both. */
export function factsetRow(certname: string, time: string): Record<string, unknown> {
  return { certname, hash: `h-${certname}-${time}`, producer_timestamp: time, producer: 'p' };
}

/** The whole factset record of factsetRow(certname, time). */
export function factsetRecord(certname: string, time: string): Record<string, unknown> {
  return { ...factsetRow(certname, time), environment: 'production', facts: { data: [{ name: 'role', value: 'web' }] } };
}

/**
 * A server holding factsets only: `rows` answer its summary, change and lookup
 * queries alike (the diff keys them), `records` its record queries by certname.
 */
export function factsetsServer(rows: Answer, records: Readonly<Record<string, Answer>> = {}): ReturnType<typeof fakePuppetDb> {
  return fakePuppetDb((query) => {
    const { entity, kind } = queryKind(query);
    if (entity !== 'factsets' || kind === 'aggregate') return [];
    return kind === 'summary' ? rows : (records[certnameAsked(query) ?? ''] ?? []);
  });
}

/** When the factsets of factsetsRemote were produced. */
const PRODUCED = '2026-11-21T10:00:00.000Z';

/** The factset record of `certname` that factsetsRemote lists. */
export const factset = (certname: string) => ({ ...factsetRecord(certname, PRODUCED), package_inventory: [] });

/** Answers the factset record of `certname`, as a fault would. */
export type RecordAnswer = (certname: string, request: IncomingMessage, body: string, response: ServerResponse) => void;

/** A remote listing the factsets of `certnames` (its summary in that order) and answering their records with `answer`; every other query empty. */
export function factsetsRemote(certnames: readonly string[], answer: RecordAnswer): Handler {
  return (request, body, response) => {
    const query = (JSON.parse(body) as { query: unknown[] }).query;
    const { entity, kind } = queryKind(query);
    if (entity === 'factsets' && kind === 'summary') json(200, certnames.map((certname) => factsetRow(certname, PRODUCED)))(request, body, response);
    else if (entity === 'factsets' && kind === 'record') answer(certnameAsked(query) ?? '', request, body, response);
    else json(200, [])(request, body, response);
  };
}

/** A local server that holds nothing and applies every command at once. */
export const emptyLocal: Handler = fakePuppetDb().handler;

/** A reconciliation of every entity, with nothing known of earlier passes. */
export const RECONCILE = { entities: ENTITIES, kind: 'reconcile', state: new MemorySyncState(), tieMemo: new TieMemo(), exclusions: NODE_PURGE_EXCLUSIONS, firstPass: false } as const;

/** A logger at debug level whose lines are kept, parsed and checked against ECS. */
export function keptLog(): ReturnType<typeof collectedLog> {
  return collectedLog('debug');
}
