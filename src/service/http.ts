import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { normaliseServerUrl } from '../config/validate.ts';
import type { Logger } from '../log.ts';
import { progressStatus } from '../progress/view.ts';
import type { ProgressTracker } from '../progress/tracker.ts';
import type { EntityResult } from '../types.ts';
import type { ClientCertificateGuard } from './http-tls.ts';
import type { SyncMetrics } from './metrics.ts';
import type { StoredPass } from '../state/store.ts';
import type { PassSummary, RemoteStatus, RemoteStatusBody, ServerStatus, ServiceControl, SidecarStatus } from './status.ts';

/**
 * The HTTP API of `run`: GET /status, GET /health, POST /sync, GET /metrics.
 * docs/operations.md#http-api describes the routes for operators.
 */

export interface HttpApiOptions {
  /** How long after start a remote that has not finished a pass yet counts as healthy. */
  readonly startupGraceMs: number;
  /** Milliseconds since the epoch. */
  readonly now?: () => number;
  /** Where Fastify logs server errors; requests themselves are never logged. None when false or absent. */
  readonly logger?: false | Logger;
  /** https, for allowed client certificates only; plain http when absent. */
  readonly guard?: ClientCertificateGuard;
  /** The entities in progress, shown under their remotes. */
  readonly progress?: ProgressTracker;
}

export interface StatusBody extends SidecarStatus {
  /** ISO 8601. */
  readonly startedAt: string;
  readonly remotes: readonly RemoteStatusBody[];
  /** The local server and every remote, with the version each gave. */
  readonly servers: readonly ServerStatus[];
  /** The latest passes of every sidecar sharing the state database, newest first; empty without one. */
  readonly recentPasses: readonly StoredPass[];
}

/** How many passes /status lists from the pass history. */
const RECENT_PASSES = 20;

export type HealthBody = ({ readonly status: 'ok' } | { readonly status: 'failing'; readonly reasons: readonly string[] }) & SidecarStatus;

export interface ErrorBody {
  readonly error: string;
}

/**
 * Why the service is not healthy: empty when it is.
 *
 * Healthy means: every remote either
 * - has a last pass, and that pass succeeded (every entity ran to its end with no
 *   failed record and no skipped row), and so did its last reconciliation if one has
 *   ended; or
 * - has no finished pass yet (its first one is running or waiting), and less than
 *   `startupGraceMs` has passed since the service started.
 * The last pass is the last incremental pass, or the last reconciliation before the
 * first incremental pass. A remote whose last pass failed is unhealthy at once, even
 * within the grace; one with no finished pass is unhealthy once the grace is over. A
 * pass running now does not change anything: the last finished one counts until it
 * ends. A long reconciliation (a catch-up) leaves a remote healthy while the
 * incremental passes beside it succeed.
 */
export function healthReasons(service: ServiceControl, startupGraceMs: number, now: number): string[] {
  const reasons: string[] = [];
  const sidecar = service.sidecar();
  // A standby is healthy while it could take the lead; the leader's passes are its own.
  if (sidecar.role === 'standby') return sidecar.stateDatabase?.available === false ? ['standby: the state database cannot be reached, so this sidecar cannot lead'] : [];
  for (const remote of service.status()) {
    const pass = remote.lastPass ?? remote.reconciliation.lastPass;
    if (pass === null) {
      if (now - service.startedAt >= startupGraceMs) reasons.push(`${remote.remote}: no successful pass within the start-up grace`);
    } else if (!pass.ok) reasons.push(`${remote.remote}: last pass failed at ${pass.end}${failureDetail(pass)}`);
    const reconciliation = remote.reconciliation.lastPass;
    if (remote.lastPass !== null && reconciliation !== null && !reconciliation.ok) {
      reasons.push(`${remote.remote}: last reconciliation failed at ${reconciliation.end}${failureDetail(reconciliation)}`);
    }
  }
  return reasons;
}

function failureDetail(pass: PassSummary): string {
  const failing = pass.entities.filter((entity) => !entity.ok);
  if (failing.length > 0) return ` (entities: ${failing.map(entityProblem).join(', ')})`;
  return pass.entities.length === 0 ? ' (before any entity)' : '';
}

/** What kept an entity out of step: records that failed, rows skipped as unreadable, or an end before its last row. */
function entityProblem(entity: EntityResult): string {
  const counts = [...(entity.failed > 0 ? [`failed ${entity.failed}`] : []), ...(entity.skipped > 0 ? [`skipped ${entity.skipped}`] : [])];
  return `${entity.entity} ${counts.length > 0 ? counts.join(' and ') : 'did not finish'}`;
}

/** Each remote with the entities in progress of its passes. */
function withProgress(remotes: readonly RemoteStatus[], progress: ProgressTracker | undefined): RemoteStatusBody[] {
  const running = progress?.snapshot() ?? [];
  return remotes.map((remote) => ({ ...remote, progress: running.filter((view) => view.remote === remote.remote).map(progressStatus) }));
}

/** The API on a Fastify instance that is not listening yet: the caller listens, tests inject. */
export function buildHttpApi(service: ServiceControl, metrics: SyncMetrics, options: HttpApiOptions): FastifyInstance {
  const now = options.now ?? Date.now;
  const https = options.guard && { https: options.guard.serverOptions };
  const app: FastifyInstance = (
    options.logger
      ? Fastify({
          ...https,
          loggerInstance: options.logger,
          logController: new LogController({ disableRequestLogging: true }),
          // ECS's field for it, in either log format: a `reqId` would be the one field of an ECS line outside ECS and puppetdb_sync.*.
          requestIdLogLabel: 'http.request.id',
        })
      : Fastify({ ...https, logger: false })
  ) as FastifyInstance;
  options.guard?.guard(app);

  // The API takes no request body: accept and ignore any (so a client that sends
  // `Content-Type: application/json` with an empty body is not refused).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 64 * 1024 }, (_request, _body, done) => done(null, undefined));

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` } satisfies ErrorBody);
  });
  app.setErrorHandler((error: { statusCode?: number; message?: string }, request, reply) => {
    const code = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (code >= 500) request.log.error({ err: error }, 'HTTP API request failed');
    void reply.code(code).send({ error: code >= 500 ? 'internal error' : (error.message ?? 'bad request') } satisfies ErrorBody);
  });

  app.get('/status', async (): Promise<StatusBody> => ({
    startedAt: new Date(service.startedAt).toISOString(),
    ...service.sidecar(),
    remotes: withProgress(service.status(), options.progress),
    servers: service.servers(),
    recentPasses: await service.recentPasses(RECENT_PASSES),
  }));

  app.get('/health', async (_request, reply): Promise<HealthBody> => {
    const reasons = healthReasons(service, options.startupGraceMs, now());
    if (reasons.length === 0) return { status: 'ok', ...service.sidecar() };
    void reply.code(503);
    return { status: 'failing', reasons, ...service.sidecar() };
  });

  app.post<{ Querystring: { remote?: string | string[]; kind?: string | string[] } }>('/sync', async (request, reply): Promise<{ triggered: readonly string[] } | ErrorBody> => {
    const kind = request.query.kind ?? 'incremental';
    if (kind !== 'incremental' && kind !== 'reconcile') {
      void reply.code(400);
      return { error: 'kind: incremental or reconcile' };
    }
    const given = request.query.remote;
    let remote: string | undefined;
    if (given !== undefined) {
      if (typeof given !== 'string') {
        void reply.code(400);
        return { error: 'give at most one remote' };
      }
      try {
        remote = normaliseServerUrl(given);
      } catch (error) {
        void reply.code(400);
        return { error: `remote: ${(error as Error).message}` };
      }
    }
    const triggered = service.trigger(remote, kind);
    if (triggered === undefined) {
      void reply.code(404);
      return { error: `${remote ?? given} is not a configured remote` };
    }
    void reply.code(202);
    return { triggered };
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.text();
    void reply.header('content-type', metrics.contentType);
    return text;
  });

  return app;
}
