import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { collectedLog } from '../../log-check.ts';
import { ProgressTracker } from '../../../src/progress/tracker.ts';
import { buildHttpApi } from '../../../src/service/http.ts';
import { SyncMetrics } from '../../../src/service/metrics.ts';
import type { PassSummary, RemoteStatus, ServerStatus, ServiceControl, SidecarStatus } from '../../../src/service/status.ts';
import type { PassKind } from '../../../src/types.ts';

const A = 'https://pdb2.example.net:8081';
const B = 'http://pdb3.example.net:8080';
const STARTED = Date.parse('2026-11-22T10:00:00.000Z');
const GRACE_MS = 10 * 60_000;

const okPass: PassSummary = {
  start: '2026-11-22T10:00:01.000Z',
  end: '2026-11-22T10:00:05.000Z',
  kind: 'incremental',
  ok: true,
  entities: [
    { entity: 'catalogs', kind: 'incremental', ok: true, transferred: 3, failed: 0, skipped: 0, remoteRows: 0, localRows: 0 },
    { entity: 'reports', kind: 'incremental', ok: true, transferred: 7, failed: 0, skipped: 0, remoteRows: 0, localRows: 0 },
  ],
};
const failedPass: PassSummary = {
  start: '2026-11-22T10:02:00.000Z',
  end: '2026-11-22T10:02:09.000Z',
  kind: 'incremental',
  ok: false,
  entities: [
    { entity: 'catalogs', kind: 'incremental', ok: false, transferred: 1, failed: 2, skipped: 0, remoteRows: 0, localRows: 0 },
    { entity: 'factsets', kind: 'incremental', ok: true, transferred: 4, failed: 0, skipped: 0, remoteRows: 0, localRows: 0 },
    { entity: 'fact-expiration', kind: 'incremental', ok: false, transferred: 0, failed: 0, skipped: 1, remoteRows: 1, localRows: 0 },
    { entity: 'reports', kind: 'incremental', ok: false, transferred: 0, failed: 0, skipped: 0, remoteRows: 0, localRows: 0 },
  ],
};

function remote(url: string, lastPass: PassSummary | null, overrides: Partial<RemoteStatus> = {}): RemoteStatus {
  return {
    remote: url,
    state: 'waiting',
    lastPass,
    lastSuccess: lastPass?.ok ? lastPass.end : null,
    lagSeconds: lastPass?.ok ? 4 : null,
    lastFailure: lastPass && !lastPass.ok ? lastPass.end : null,
    consecutiveFailures: lastPass && !lastPass.ok ? 1 : 0,
    nextRun: '2026-11-22T10:04:00.000Z',
    lastReconcile: '2026-11-22T09:30:00.000Z',
    watermarks: { factsets: '2026-11-22T10:00:00.000Z' },
    reconciliation: { state: 'waiting', lastPass: null, lastSuccess: null, lastFailure: null, consecutiveFailures: 0, nextRun: '2026-11-22T10:30:00.000Z' },
    ...overrides,
  };
}

/** A sidecar that syncs alone, its state in memory. */
const SINGLE: SidecarStatus = { role: 'single', leaderPresent: null, stateDatabase: null };

const SERVERS: ServerStatus[] = [
  { url: 'http://127.0.0.1:8080', role: 'local', version: '8.8.1' },
  { url: A, role: 'remote', version: null },
];

/** A plain-object service: its remotes' status, and the triggers it was asked for. */
function fakeService(remotes: RemoteStatus[], sidecar: SidecarStatus = SINGLE) {
  const triggers: (string | undefined)[] = [];
  const kinds: (PassKind | undefined)[] = [];
  const service: ServiceControl = {
    startedAt: STARTED,
    status: () => remotes,
    trigger(url?: string, kind?: PassKind) {
      triggers.push(url);
      kinds.push(kind);
      if (url === undefined) return remotes.map((r) => r.remote);
      return remotes.some((r) => r.remote === url) ? [url] : undefined;
    },
    sidecar: () => sidecar,
    servers: () => SERVERS,
    recentPasses: async () => [],
  };
  return { service, triggers, kinds };
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function api(remotes: RemoteStatus[], nowMs = STARTED + 60_000, metrics = new SyncMetrics({ processMetrics: false }), sidecar = SINGLE, progress?: ProgressTracker) {
  const { service, triggers, kinds } = fakeService(remotes, sidecar);
  app = buildHttpApi(service, metrics, { startupGraceMs: GRACE_MS, now: () => nowMs, ...(progress && { progress }) });
  return { app, triggers, kinds };
}

describe('GET /status', () => {
  it('answers the start time and every remote as the service reports it, with the entity of its pass in progress', async () => {
    const remotes = [remote(A, okPass, { state: 'running', nextRun: null }), remote(B, null)];
    let now = Date.parse('2026-11-22T10:00:10.000Z');
    const progress = new ProgressTracker(30_000, () => now);
    const reports = progress.entityStarted(A, 'reports', 'reconcile');
    reports.expectParts([1_000, 3_000]);
    for (let i = 0; i < 1_000; i++) reports.rowRead('remote');
    reports.compared(1_000, 50, true);
    now += 20_000;
    for (let i = 0; i < 40; i++) reports.pullEnded(i === 0 ? 'failed' : 'transferred');
    const { app } = api(remotes, STARTED + 60_000, undefined, SINGLE, progress);
    const response = await app.inject({ method: 'GET', url: '/status' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({
      startedAt: '2026-11-22T10:00:00.000Z',
      ...SINGLE,
      recentPasses: [],
      servers: SERVERS,
      remotes: [
        {
          remote: A,
          state: 'running',
          lastPass: okPass,
          lastSuccess: okPass.end,
          lagSeconds: 4,
          lastFailure: null,
          consecutiveFailures: 0,
          nextRun: null,
          lastReconcile: '2026-11-22T09:30:00.000Z',
          watermarks: { factsets: '2026-11-22T10:00:00.000Z' },
          reconciliation: { state: 'waiting', lastPass: null, lastSuccess: null, lastFailure: null, consecutiveFailures: 0, nextRun: '2026-11-22T10:30:00.000Z' },
          progress: [
            {
              entity: 'reports',
              kind: 'reconcile',
              startedAt: '2026-11-22T10:00:10.000Z',
              elapsedSeconds: 20,
              done: 40,
              toDo: 200,
              toDoComplete: false,
              transferred: 39,
              failed: 1,
              parts: 2,
              partsCompared: 1,
              remoteRows: 1_000,
              localRows: 0,
              recordsPerSecond: 2,
              etaSeconds: 80,
            },
          ],
        },
        {
          remote: B,
          state: 'waiting',
          lastPass: null,
          lastSuccess: null,
          lagSeconds: null,
          lastFailure: null,
          consecutiveFailures: 0,
          nextRun: '2026-11-22T10:04:00.000Z',
          lastReconcile: '2026-11-22T09:30:00.000Z',
          watermarks: { factsets: '2026-11-22T10:00:00.000Z' },
          reconciliation: { state: 'waiting', lastPass: null, lastSuccess: null, lastFailure: null, consecutiveFailures: 0, nextRun: '2026-11-22T10:30:00.000Z' },
          progress: [],
        },
      ],
    });
  });
});

describe('GET /health', () => {
  const database = 'db.example.net:5432/puppetdb';
  const standby = (available: boolean): SidecarStatus => ({ role: 'standby', leaderPresent: available ? true : null, stateDatabase: { database, available, error: available ? null : 'the leader election cannot reach it' } });

  it('is ok for a standby that reaches the state database, whatever its remotes', async () => {
    const { app } = api([remote(A, null, { state: 'standby' })], STARTED + 3_600_000, undefined, standby(true));
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'ok', role: 'standby', leaderPresent: true });
  });

  it('fails for a standby that cannot reach the state database: it could not lead', async () => {
    const { app } = api([remote(A, null, { state: 'standby' })], STARTED, undefined, standby(false));
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ status: 'failing', reasons: ['standby: the state database cannot be reached, so this sidecar cannot lead'], role: 'standby' });
  });

  it('is ok when every remote last passed', async () => {
    const { app } = api([remote(A, okPass), remote(B, okPass)], STARTED + 3_600_000);
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', ...SINGLE });
  });

  it('fails when a remote last failed, naming the remote, the time and the entities that failed', async () => {
    const { app } = api([remote(A, okPass), remote(B, failedPass)]);
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({
      ...SINGLE,
      status: 'failing',
      reasons: [`${B}: last pass failed at 2026-11-22T10:02:09.000Z (entities: catalogs failed 2, fact-expiration skipped 1, reports did not finish)`],
    });
  });

  it('fails when the last reconciliation failed, though the incremental passes beside it succeed', async () => {
    const reconciliation = { state: 'waiting' as const, lastPass: { ...failedPass, kind: 'reconcile' as const }, lastSuccess: null, lastFailure: failedPass.end, consecutiveFailures: 1, nextRun: null };
    const { app } = api([remote(A, okPass, { reconciliation })]);
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(503);
    expect(response.json<{ reasons: string[] }>().reasons).toEqual([`${A}: last reconciliation failed at 2026-11-22T10:02:09.000Z (entities: catalogs failed 2, fact-expiration skipped 1, reports did not finish)`]);
  });

  it('judges a remote by its reconciliation until its first incremental pass', async () => {
    const reconciliation = { state: 'waiting' as const, lastPass: { ...okPass, kind: 'reconcile' as const }, lastSuccess: okPass.end, lastFailure: null, consecutiveFailures: 0, nextRun: null };
    const { app } = api([remote(A, null, { reconciliation })], STARTED + GRACE_MS + 1);
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
  });

  it('fails for a pass that failed before any entity', async () => {
    const { app } = api([remote(A, { ...failedPass, entities: [] })]);
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ ...SINGLE, status: 'failing', reasons: [`${A}: last pass failed at 2026-11-22T10:02:09.000Z (before any entity)`] });
  });

  it('is ok within the start-up grace for a remote with no finished pass yet', async () => {
    const { app } = api([remote(A, okPass), remote(B, null, { state: 'running', nextRun: null })], STARTED + GRACE_MS - 1);
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', ...SINGLE });
  });

  it('fails within the start-up grace when a pass has failed already', async () => {
    const { app } = api([remote(A, failedPass)], STARTED + 1_000);
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(503);
    expect(response.json<{ reasons: string[] }>().reasons).toEqual([expect.stringContaining(`${A}: last pass failed at`)]);
  });

  it('fails past the start-up grace for a remote with no finished pass', async () => {
    const { app } = api([remote(A, okPass), remote(B, null, { state: 'running', nextRun: null })], STARTED + GRACE_MS);
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ ...SINGLE, status: 'failing', reasons: [`${B}: no successful pass within the start-up grace`] });
  });

  it('lists every remote that fails', async () => {
    const { app } = api([remote(A, failedPass), remote(B, null)], STARTED + GRACE_MS + 1);
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(503);
    expect(response.json<{ reasons: string[] }>().reasons).toEqual([
      `${A}: last pass failed at 2026-11-22T10:02:09.000Z (entities: catalogs failed 2, fact-expiration skipped 1, reports did not finish)`,
      `${B}: no successful pass within the start-up grace`,
    ]);
  });
});

describe('POST /sync', () => {
  it('triggers every remote when none is given', async () => {
    const { app, triggers } = api([remote(A, okPass), remote(B, null)]);
    const response = await app.inject({ method: 'POST', url: '/sync' });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ triggered: [A, B] });
    expect(triggers).toEqual([undefined]);
  });

  it('triggers the remote given', async () => {
    const { app, triggers } = api([remote(A, okPass), remote(B, null)]);
    const response = await app.inject({ method: 'POST', url: '/sync', query: { remote: B } });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ triggered: [B] });
    expect(triggers).toEqual([B]);
  });

  it('triggers incremental passes, or with kind=reconcile reconciliations, and refuses another kind', async () => {
    const { app, kinds } = api([remote(A, okPass)]);
    expect((await app.inject({ method: 'POST', url: '/sync' })).statusCode).toBe(202);
    expect((await app.inject({ method: 'POST', url: '/sync', query: { kind: 'reconcile' } })).statusCode).toBe(202);
    const refused = await app.inject({ method: 'POST', url: '/sync', query: { kind: 'full' } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual({ error: 'kind: incremental or reconcile' });
    expect(kinds).toEqual(['incremental', 'reconcile']);
  });

  it('finds a remote written without its default port', async () => {
    const { app, triggers } = api([remote(A, okPass), remote(B, null)]);
    const https = await app.inject({ method: 'POST', url: '/sync', query: { remote: 'https://pdb2.example.net' } });
    expect(https.statusCode).toBe(202);
    expect(https.json()).toEqual({ triggered: [A] });
    const http = await app.inject({ method: 'POST', url: `/sync?remote=${encodeURIComponent('http://PDB3.example.net/')}` });
    expect(http.statusCode).toBe(202);
    expect(http.json()).toEqual({ triggered: [B] });
    expect(triggers).toEqual([A, B]);
  });

  it('accepts and ignores a body', async () => {
    const { app } = api([remote(A, okPass)]);
    const empty = await app.inject({ method: 'POST', url: '/sync', headers: { 'content-type': 'application/json' } });
    expect(empty.statusCode).toBe(202);
    const json = await app.inject({ method: 'POST', url: '/sync', payload: { remote: 'ignored' } });
    expect(json.statusCode).toBe(202);
    expect(json.json()).toEqual({ triggered: [A] });
  });

  it('answers 404 for a remote that is not configured', async () => {
    const { app } = api([remote(A, okPass)]);
    const response = await app.inject({ method: 'POST', url: '/sync', query: { remote: 'https://elsewhere.example.net:8081' } });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({ error: 'https://elsewhere.example.net:8081 is not a configured remote' });
  });

  it('answers 400 for a remote that is not a server URL, or more than one', async () => {
    const { app, triggers } = api([remote(A, okPass)]);
    const bad = await app.inject({ method: 'POST', url: '/sync', query: { remote: 'pdb2.example.net' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: string }>().error).toMatch(/^remote: .*is not a URL/);
    const two = await app.inject({ method: 'POST', url: `/sync?remote=${encodeURIComponent(A)}&remote=${encodeURIComponent(A)}` });
    expect(two.statusCode).toBe(400);
    expect(two.json()).toEqual({ error: 'give at most one remote' });
    expect(triggers).toEqual([]);
  });
});

describe('GET /metrics', () => {
  it('answers the Prometheus text of the metrics', async () => {
    const metrics = new SyncMetrics({ processMetrics: false, now: () => STARTED });
    metrics.passFinished(A, { remote: A, kind: 'incremental', ok: true, entities: [] }, 2_000);
    const { app } = api([remote(A, okPass)], STARTED, metrics);
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe(metrics.contentType);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.body).toContain(`pdbsync_last_sync_succeeded{remote="${A}"} 1\n`);
    expect(response.body).toContain('# TYPE pdbsync_records_failed_total counter');
  });
});

describe('other routes', () => {
  it('answer 404 with a JSON error', async () => {
    const { app } = api([remote(A, okPass)]);
    const unknown = await app.inject({ method: 'GET', url: '/nothing?x=1' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: 'no route GET /nothing' });
    const wrongMethod = await app.inject({ method: 'GET', url: '/sync' });
    expect(wrongMethod.statusCode).toBe(404);
    expect(wrongMethod.json()).toEqual({ error: 'no route GET /sync' });
  });

  it('answer 500 with a JSON error when the service throws', async () => {
    const { service } = fakeService([]);
    app = buildHttpApi({ ...service, status: () => { throw new Error('boom'); } }, new SyncMetrics({ processMetrics: false }), { startupGraceMs: GRACE_MS });
    const response = await app.inject({ method: 'GET', url: '/status' });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: 'internal error' });
  });

  it('log server errors to the logger given, and no request', async () => {
    const { log: logger, lines } = collectedLog('info');
    const { service } = fakeService([remote(A, okPass)]);
    let fail = false;
    const control: ServiceControl = { ...service, status: () => { if (fail) throw new Error('boom'); return service.status(); } };
    app = buildHttpApi(control, new SyncMetrics({ processMetrics: false }), { startupGraceMs: GRACE_MS, logger });
    expect((await app.inject({ method: 'GET', url: '/status' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/nothing' })).statusCode).toBe(404);
    expect(lines).toEqual([]);
    fail = true;
    expect((await app.inject({ method: 'GET', url: '/status' })).statusCode).toBe(500);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', message: 'HTTP API request failed', err: { message: 'boom' } });
  });
});
