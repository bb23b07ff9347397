/**
 * The spool's HTTP listener: the command API (command-api.ts), GET /health and GET
 * /metrics; plain http on loopback, or https guarded as the sidecar's API is
 * (client certificate of the CA, certname on the allowlist: src/service/http-tls.ts).
 */

import Fastify, { LogController, type FastifyInstance } from 'fastify';

import type { Logger } from '../log.ts';
import type { ClientCertificateGuard } from '../service/http-tls.ts';
import { registerCommandApi, type CommandApiOptions } from './command-api.ts';
import { JSON_TYPE, prettyJson } from './command-checks.ts';
import type { SpoolMetrics } from './metrics.ts';

export interface SpoolHttpOptions extends Omit<CommandApiOptions, 'observer'> {
  readonly metrics: SpoolMetrics;
  /** The journal's last failure (coded) while its writes fail; undefined while they succeed. */
  readonly journalFailure: () => Error | undefined;
  /** https, for allowed client certificates only; plain http when absent. */
  readonly guard?: ClientCertificateGuard;
  /** Where Fastify logs server errors; requests themselves are never logged. None when absent. */
  readonly serverLog?: Logger;
}

export type SpoolHealth = { readonly status: 'ok' } | { readonly status: 'failing'; readonly reasons: readonly string[] };

/** Why the spool cannot take commands now: empty when it can. */
export function spoolHealthReasons(journalFailure: Error | undefined, full: Error | undefined): string[] {
  return [...(journalFailure ? [`the journal fails: ${journalFailure.message}`] : []), ...(full ? [`the journal is full: ${full.message}`] : [])];
}

/** The listener on a Fastify instance that is not listening yet: the caller listens, tests inject. */
export function buildSpoolHttp(options: SpoolHttpOptions): FastifyInstance {
  const https = options.guard && { https: options.guard.serverOptions };
  const app: FastifyInstance = (
    options.serverLog
      ? Fastify({ ...https, bodyLimit: options.maxCommandBytes, loggerInstance: options.serverLog, logController: new LogController({ disableRequestLogging: true }), requestIdLogLabel: 'http.request.id' })
      : Fastify({ ...https, bodyLimit: options.maxCommandBytes, logger: false })
  ) as FastifyInstance;
  options.guard?.guard(app);

  // Every body as received, whatever its type: the command API checks the type as
  // PuppetDB does (415) and journals the bytes, gzip-compressed or not.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxCommandBytes }, (_request, body, done) => done(null, body));

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).type(JSON_TYPE).send(prettyJson({ error: `no route ${request.method} ${request.url.split('?')[0]}` }));
  });
  app.setErrorHandler((error: { statusCode?: number; code?: string; message?: string }, request, reply) => {
    // A body past max-command-size without a length header that said so: PuppetDB's answer when its stream overflows.
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      options.metrics.refused('too-large');
      return reply.code(413).type('text/plain; charset=utf-8').send('Command size exceeds max-command-size');
    }
    const code = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (code >= 500) request.log.error({ err: error }, 'spool HTTP request failed');
    return reply.code(code).type(JSON_TYPE).send(prettyJson({ error: code >= 500 ? 'internal error' : (error.message ?? 'bad request') }));
  });

  const appendState = registerCommandApi(app, { ...options, observer: options.metrics });

  app.get('/health', async (_request, reply): Promise<SpoolHealth> => {
    const reasons = spoolHealthReasons(options.journalFailure(), appendState.full);
    if (reasons.length === 0) return { status: 'ok' };
    void reply.code(503);
    return { status: 'failing', reasons };
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await options.metrics.text();
    void reply.header('content-type', options.metrics.contentType);
    return text;
  });

  return app;
}
