import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLogger, type Logger } from '../../../src/log.ts';
import { MemorySyncState } from '../../../src/sync/sync-state.ts';
import { ENTITIES, NODE_PURGE_EXCLUSIONS } from '../../../src/wiring.ts';
import { json, type Handler } from '../fake-server.ts';

/** Fake PuppetDB servers for passes: a remote holding factsets only, a local server holding nothing. */

export const factset = (certname: string) => ({
  certname,
  environment: 'production',
  producer_timestamp: '2026-11-21T10:00:00.000Z',
  producer: 'p',
  hash: `h-${certname}`,
  facts: { data: [{ name: 'role', value: 'web' }] },
  package_inventory: [],
});

/** Answers the factset record of `certname`. */
export type RecordAnswer = (certname: string, request: IncomingMessage, body: string, response: ServerResponse) => void;

/** A remote holding the factsets of `certnames` (its summary in that order), every other query empty. */
export function factsetsRemote(certnames: readonly string[], answer: RecordAnswer): Handler {
  return (request, body, response) => {
    const query = (JSON.parse(body) as { query: unknown[] }).query;
    const [, entity, clause] = query as [string, string, unknown[]];
    const isSummary = Array.isArray(clause) && clause[0] === 'extract';
    if (entity === 'factsets' && isSummary) {
      json(200, certnames.map((c) => ({ certname: c, hash: `h-${c}`, producer_timestamp: '2026-11-21T10:00:00.000Z', producer: 'p' })))(request, body, response);
    } else if (entity === 'factsets') {
      answer(JSON.stringify(clause).match(/"certname","([^"]+)"/)![1]!, request, body, response);
    } else {
      json(200, [])(request, body, response);
    }
  };
}

/** A local server that holds nothing and applies every command at once. */
export const emptyLocal: Handler = (request, body, response) => {
  if (request.url?.startsWith('/pdb/cmd/v1')) json(200, { uuid: 'u', processed: true, timed_out: false })(request, body, response);
  else if (request.url?.startsWith('/status')) json(200, { status: { queue_depth: 0 } })(request, body, response);
  else json(200, [])(request, body, response);
};

/** A reconciliation of every entity, with nothing known of earlier passes. */
export const RECONCILE = { entities: ENTITIES, kind: 'reconcile', state: new MemorySyncState(), exclusions: NODE_PURGE_EXCLUSIONS, firstPass: false } as const;

/** A logger at debug level whose lines are kept, parsed. */
export function keptLog(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  return { log: createLogger('debug', { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) }), lines };
}
