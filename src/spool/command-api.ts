/**
 * PuppetDB's command API on the spool: `POST /pdb/cmd/v1` (any method, as PuppetDB
 * routes it), answered as a PuppetDB answers the terminus (command-checks.ts). A
 * command PuppetDB would apply is journaled, synced to disk, before its 200
 * `{"uuid": ...}`; one it refuses gets its refusal and is not journaled; one it would
 * accept and dead-letter gets the 200 and is not journaled. A journal that is full or
 * failing gives 503 with a JSON error: never a 200 without the write.
 */

import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { SyncError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { JSON_TYPE, checkHeaders, checkParams, checkPayload, commandParts, isRefusal, prettyJson, type CommandToJournal, type Refusal, type RefusedReason } from './command-checks.ts';

/** PuppetDB routes both. */
export const COMMAND_PATHS = ['/pdb/cmd/v1', '/pdb/cmd/v1/'];

const gunzipAsync = promisify(gunzip);

/** Why a command got 503: the `reason` label of pdbsync_spool_unavailable_total. */
export type UnavailableReason = 'full' | 'journal';

/** What the command API tells the metrics. */
export interface CommandObserver {
  /** Journaled (or found journaled already), answered 200. */
  journaled(command: string, seconds: number): void;
  /** Answered 4xx, or 200 and discarded as PuppetDB would. */
  refused(reason: RefusedReason): void;
  /** Answered 503. */
  unavailable(reason: UnavailableReason): void;
}

export interface CommandApiOptions {
  readonly journal: { append(command: CommandToJournal): Promise<string> };
  readonly maxCommandBytes: number;
  readonly observer: CommandObserver;
  readonly log: Logger;
  /** Milliseconds since the epoch: when a refusal was last logged. */
  readonly now?: () => number;
}

/** The journal's state as the command API last found it, for /health. */
export interface AppendState {
  /** The last append refused as full, until one succeeds. */
  readonly full: Error | undefined;
}

/** A refusal of one reason is logged at most this often; the metric counts every one. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/** Registers the command route on `app`, whose content-type parsers hand it the body as a Buffer (spool-http.ts). */
export function registerCommandApi(app: FastifyInstance, options: CommandApiOptions): AppendState {
  const { journal, maxCommandBytes, observer, log } = options;
  const now = options.now ?? Date.now;
  const lastLogged = new Map<RefusedReason, number>();
  const state: { full: Error | undefined } = { full: undefined };

  /** Counted, and logged once a minute per reason: a misbehaving client must not flood the log. */
  const noteRefusal = (reason: RefusedReason, request: FastifyRequest, detail: string): void => {
    observer.refused(reason);
    const last = lastLogged.get(reason);
    if (last !== undefined && now() - last < REFUSAL_LOG_INTERVAL_MS) return;
    lastLogged.set(reason, now());
    log.warn({ reason, client: request.ip, detail }, `spool: a command was refused or discarded as PuppetDB would (${reason}); further ones of this reason are counted, logged at most once a minute`);
  };

  const refuse = (refusal: Refusal, request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    noteRefusal(refusal.reason, request, `${refusal.status} ${refusal.body.slice(0, 300)}`);
    return reply.code(refusal.status).type(refusal.contentType).send(refusal.body);
  };

  const accepted = (reply: FastifyReply, uuid: string): FastifyReply => reply.code(200).type(JSON_TYPE).send(prettyJson({ uuid }));

  for (const url of COMMAND_PATHS) app.route<{ Querystring: Record<string, string | string[]> }>({
    method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
    url,
    // Before the body is read: PuppetDB refuses by the headers first.
    onRequest: async (request, reply) => {
      const refusal = checkHeaders(request.method, request.url.split('?')[0]!, request.headers, maxCommandBytes);
      if (refusal !== undefined) return refuse(refusal, request, reply);
      return undefined;
    },
    handler: async (request, reply) => {
      const started = performance.now();
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const parts = commandParts(request.query, body);
      if (isRefusal(parts)) return refuse(parts, request, reply);
      const params = checkParams(parts.params);
      if (isRefusal(params)) return refuse(params, request, reply);
      const encoding = !parts.oldFormat && request.headers['content-encoding'] === 'gzip' ? 'gzip' : 'identity';
      const text = await payloadText(parts.payload, encoding, maxCommandBytes);
      if (text === 'too-large') return refuse({ status: 413, contentType: 'text/plain; charset=utf-8', body: 'Command size exceeds max-command-size', reason: 'too-large' }, request, reply);
      const verdict = checkPayload(params, text);
      if ('discard' in verdict) {
        noteRefusal(verdict.discard, request, `${params.command} v${params.version} for ${params.certname}: answered 200 and not journaled, as PuppetDB dead-letters it`);
        return accepted(reply, randomUUID());
      }
      const command: CommandToJournal = { command: params.command, version: params.version, certname: verdict.certname, producerTimestamp: verdict.producerTimestamp, body: parts.payload, encoding };
      let uuid: string;
      try {
        uuid = await journal.append(command);
      } catch (error) {
        const reason: UnavailableReason = error instanceof SyncError && error.code === 'PDBSYNC_ERR_SPOOL_FULL' ? 'full' : 'journal';
        if (reason === 'full') state.full = error as Error;
        observer.unavailable(reason);
        log.error({ err: error, command: params.command, certname: params.certname }, `spool: a command could not be journaled and was answered 503 (${reason})`);
        return reply.code(503).type(JSON_TYPE).send(prettyJson({ error: (error as Error).message }));
      }
      state.full = undefined;
      observer.journaled(params.command, (performance.now() - started) / 1000);
      return accepted(reply, uuid);
    },
  });
  return state;
}

/** The payload's JSON text: the body, gunzipped when sent so (at most max-command-size); undefined when it cannot be read. */
async function payloadText(body: Buffer, encoding: 'gzip' | 'identity', maxBytes: number): Promise<string | undefined | 'too-large'> {
  if (encoding === 'identity') return body.toString('utf8');
  try {
    return (await gunzipAsync(body, { maxOutputLength: maxBytes })).toString('utf8');
  } catch (error) {
    return (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? 'too-large' : undefined;
  }
}
