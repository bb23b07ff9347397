import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProgressTracker } from '../../../src/progress/tracker.ts';
import { SyncMetrics } from '../../../src/service/metrics.ts';
import type { SidecarStatus } from '../../../src/service/status.ts';
import type { EntityResult, PassResult } from '../../../src/types.ts';

const A = 'https://pdb2.example.net:8081';
const B = 'http://pdb3.example.net:8080';
const T0 = Date.parse('2026-11-22T10:00:00.000Z');

function pass(remote: string, entities: EntityResult[]): PassResult {
  return { remote, kind: 'incremental', ok: entities.every((e) => e.ok), entities };
}
const catalogsOk: EntityResult = { entity: 'catalogs', kind: 'incremental', ok: true, transferred: 3, failed: 0, skipped: 0, remoteRows: 0, localRows: 0 };
const catalogsFailed: EntityResult = { entity: 'catalogs', kind: 'incremental', ok: false, transferred: 1, failed: 2, skipped: 0, remoteRows: 0, localRows: 0 };

/** A clock the test moves, and metrics on it. */
function setup(options: { remotes?: string[] } = {}) {
  const clock = { ms: T0 };
  const metrics = new SyncMetrics({ now: () => clock.ms, processMetrics: false, ...options });
  return { clock, metrics };
}

/** The value of the sample `name{labels}` in the text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',').filter(Boolean).sort().join(',');
    if (have === wanted) return Number(match[3]);
  }
  return undefined;
}

describe('SyncMetrics', () => {
  it('defines every metric once, with help and type, on a registry of its own', async () => {
    const { metrics } = setup();
    const text = await metrics.text();
    const names = [
      ['pdbsync_last_sync_succeeded', 'gauge'],
      ['pdbsync_sync_has_worked_once', 'gauge'],
      ['pdbsync_sync_has_failed_after_working', 'gauge'],
      ['pdbsync_last_successful_sync_time_seconds', 'gauge'],
      ['pdbsync_last_failed_sync_time_seconds', 'gauge'],
      ['pdbsync_last_successful_sync_timestamp_seconds', 'gauge'],
      ['pdbsync_last_failed_sync_timestamp_seconds', 'gauge'],
      ['pdbsync_build_info', 'gauge'],
      ['pdbsync_local_up', 'gauge'],
      ['pdbsync_local_queue_depth', 'gauge'],
      ['pdbsync_seconds_since_last_successful_sync', 'gauge'],
      ['pdbsync_seconds_since_last_failed_sync', 'gauge'],
      ['pdbsync_failed_requests_total', 'counter'],
      ['pdbsync_sync_duration_seconds', 'histogram'],
      ['pdbsync_entity_sync_duration_seconds', 'histogram'],
      ['pdbsync_record_transfer_duration_seconds', 'histogram'],
      ['pdbsync_records_transferred_total', 'counter'],
      ['pdbsync_records_failed_total', 'counter'],
    ];
    for (const [name, type] of names) {
      expect(text.match(new RegExp(`^# HELP ${name} \\S`, 'gm'))).toHaveLength(1);
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    // Two instances do not collide (no global registry).
    expect(() => new SyncMetrics({ processMetrics: false })).not.toThrow();
  });

  it('includes the process metrics under their standard names, less the gauges named like counters', async () => {
    const metrics = new SyncMetrics();
    const text = await metrics.text();
    expect(text).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d+$/m);
    expect(text).toMatch(/^nodejs_active_handles\{type="\w+"\} \d+$/m);
    expect(text).not.toMatch(/pdbsync_(process|nodejs)_/);
    expect(text).not.toMatch(/^# TYPE \w+_total gauge$/m);
  });

  it('says which version runs on which Node.js', async () => {
    const { metrics } = setup();
    const text = await metrics.text();
    const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(sample(text, 'pdbsync_build_info', { version: manifest.version, nodejs_version: process.version })).toBe(1);
  });

  it('shows what the last probe of the local server found', async () => {
    const { metrics } = setup();
    let text = await metrics.text();
    expect(sample(text, 'pdbsync_local_up', {})).toBeUndefined();
    expect(sample(text, 'pdbsync_local_queue_depth', {})).toBeUndefined();
    metrics.localStatus({ up: true, queueDepth: 42 });
    text = await metrics.text();
    expect(sample(text, 'pdbsync_local_up', {})).toBe(1);
    expect(sample(text, 'pdbsync_local_queue_depth', {})).toBe(42);
    metrics.localStatus({ up: false });
    text = await metrics.text();
    expect(sample(text, 'pdbsync_local_up', {})).toBe(0);
    // A depth read before the server stopped answering says nothing of its queue now.
    expect(sample(text, 'pdbsync_local_queue_depth', {})).toBeUndefined();
  });

  it('starts the remotes it is given at 0, with no times', async () => {
    const { metrics } = setup({ remotes: [A] });
    const text = await metrics.text();
    expect(sample(text, 'pdbsync_last_sync_succeeded', { remote: A })).toBe(0);
    expect(sample(text, 'pdbsync_sync_has_worked_once', { remote: A })).toBe(0);
    expect(sample(text, 'pdbsync_sync_has_failed_after_working', { remote: A })).toBe(0);
    expect(sample(text, 'pdbsync_failed_requests_total', { remote: A })).toBe(0);
    expect(sample(text, 'pdbsync_last_successful_sync_time_seconds', { remote: A })).toBeUndefined();
    expect(sample(text, 'pdbsync_seconds_since_last_successful_sync', { remote: A })).toBeUndefined();
    expect(sample(text, 'pdbsync_seconds_since_last_failed_sync', { remote: A })).toBeUndefined();
  });

  it('follows success, then failure after working, then success again, per remote', async () => {
    const { clock, metrics } = setup();
    metrics.passFinished(A, pass(A, [catalogsOk]), 12_000);
    let text = await metrics.text();
    expect(sample(text, 'pdbsync_last_sync_succeeded', { remote: A })).toBe(1);
    expect(sample(text, 'pdbsync_sync_has_worked_once', { remote: A })).toBe(1);
    expect(sample(text, 'pdbsync_sync_has_failed_after_working', { remote: A })).toBe(0);
    expect(sample(text, 'pdbsync_last_successful_sync_time_seconds', { remote: A })).toBe(T0 / 1000);
    expect(sample(text, 'pdbsync_last_failed_sync_time_seconds', { remote: A })).toBeUndefined();
    expect(sample(text, 'pdbsync_seconds_since_last_successful_sync', { remote: A })).toBe(0);

    clock.ms = T0 + 90_000;
    metrics.passFinished(A, pass(A, [catalogsFailed]), 30_000);
    clock.ms = T0 + 100_500;
    text = await metrics.text();
    expect(sample(text, 'pdbsync_last_sync_succeeded', { remote: A })).toBe(0);
    expect(sample(text, 'pdbsync_sync_has_worked_once', { remote: A })).toBe(1);
    expect(sample(text, 'pdbsync_sync_has_failed_after_working', { remote: A })).toBe(1);
    expect(sample(text, 'pdbsync_last_successful_sync_time_seconds', { remote: A })).toBe(T0 / 1000);
    expect(sample(text, 'pdbsync_last_failed_sync_time_seconds', { remote: A })).toBe(T0 / 1000 + 90);
    expect(sample(text, 'pdbsync_last_successful_sync_timestamp_seconds', { remote: A })).toBe(T0 / 1000);
    expect(sample(text, 'pdbsync_last_failed_sync_timestamp_seconds', { remote: A })).toBe(T0 / 1000 + 90);
    expect(sample(text, 'pdbsync_seconds_since_last_successful_sync', { remote: A })).toBe(100.5);
    expect(sample(text, 'pdbsync_seconds_since_last_failed_sync', { remote: A })).toBe(10.5);
    expect(sample(text, 'pdbsync_sync_duration_seconds_count', { remote: A })).toBe(2);
    expect(sample(text, 'pdbsync_sync_duration_seconds_sum', { remote: A })).toBe(42);
    expect(sample(text, 'pdbsync_sync_duration_seconds_bucket', { remote: A, le: '10' })).toBe(0);
    expect(sample(text, 'pdbsync_sync_duration_seconds_bucket', { remote: A, le: '30' })).toBe(2);
    expect(sample(text, 'pdbsync_sync_duration_seconds_bucket', { remote: A, le: '3600' })).toBe(2);

    clock.ms = T0 + 200_000;
    metrics.passFinished(A, pass(A, [catalogsOk]), 1_000);
    text = await metrics.text();
    expect(sample(text, 'pdbsync_last_sync_succeeded', { remote: A })).toBe(1);
    expect(sample(text, 'pdbsync_sync_has_failed_after_working', { remote: A })).toBe(0);
    expect(sample(text, 'pdbsync_seconds_since_last_successful_sync', { remote: A })).toBe(0);
    expect(sample(text, 'pdbsync_seconds_since_last_failed_sync', { remote: A })).toBe(110);
  });

  it('does not count a failure before any success as failed after working', async () => {
    const { metrics } = setup();
    metrics.passFinished(B, pass(B, [catalogsFailed]), 5_000);
    const text = await metrics.text();
    expect(sample(text, 'pdbsync_last_sync_succeeded', { remote: B })).toBe(0);
    expect(sample(text, 'pdbsync_sync_has_worked_once', { remote: B })).toBe(0);
    expect(sample(text, 'pdbsync_sync_has_failed_after_working', { remote: B })).toBe(0);
    expect(sample(text, 'pdbsync_last_failed_sync_time_seconds', { remote: B })).toBe(T0 / 1000);
    expect(sample(text, 'pdbsync_seconds_since_last_successful_sync', { remote: B })).toBeUndefined();
    expect(sample(text, 'pdbsync_last_sync_succeeded', { remote: A })).toBeUndefined();
  });

  it('counts records and times records and entities per remote and entity', async () => {
    const { metrics } = setup();
    metrics.recordFinished(A, 'catalogs', 40, true);
    metrics.recordFinished(A, 'catalogs', 2_000, true);
    metrics.recordFinished(A, 'catalogs', 60_000, false);
    metrics.recordFinished(A, 'reports', 3, true);
    metrics.recordFinished(B, 'catalogs', 10, true);
    metrics.entityFinished(A, catalogsFailed, 75_000);
    metrics.entityFinished(A, { entity: 'nodes', kind: 'incremental', ok: false, transferred: 0, failed: 0, skipped: 2, remoteRows: 2, localRows: 0 }, 200);
    const text = await metrics.text();

    expect(sample(text, 'pdbsync_records_transferred_total', { remote: A, entity: 'catalogs' })).toBe(2);
    expect(sample(text, 'pdbsync_records_failed_total', { remote: A, entity: 'catalogs' })).toBe(1);
    expect(sample(text, 'pdbsync_records_transferred_total', { remote: A, entity: 'reports' })).toBe(1);
    expect(sample(text, 'pdbsync_records_failed_total', { remote: A, entity: 'reports' })).toBeUndefined();
    expect(sample(text, 'pdbsync_records_transferred_total', { remote: B, entity: 'catalogs' })).toBe(1);
    expect(sample(text, 'pdbsync_rows_skipped_total', { remote: A, entity: 'nodes' })).toBe(2);
    expect(sample(text, 'pdbsync_rows_skipped_total', { remote: A, entity: 'catalogs' })).toBe(0);

    expect(sample(text, 'pdbsync_record_transfer_duration_seconds_count', { remote: A, entity: 'catalogs' })).toBe(3);
    expect(sample(text, 'pdbsync_record_transfer_duration_seconds_sum', { remote: A, entity: 'catalogs' })).toBe(62.04);
    expect(sample(text, 'pdbsync_record_transfer_duration_seconds_bucket', { remote: A, entity: 'catalogs', le: '0.005' })).toBe(0);
    expect(sample(text, 'pdbsync_record_transfer_duration_seconds_bucket', { remote: A, entity: 'catalogs', le: '0.05' })).toBe(1);
    expect(sample(text, 'pdbsync_record_transfer_duration_seconds_bucket', { remote: A, entity: 'catalogs', le: '2.5' })).toBe(2);
    expect(sample(text, 'pdbsync_record_transfer_duration_seconds_bucket', { remote: A, entity: 'catalogs', le: '60' })).toBe(3);
    expect(sample(text, 'pdbsync_record_transfer_duration_seconds_bucket', { remote: A, entity: 'reports', le: '0.005' })).toBe(1);

    expect(sample(text, 'pdbsync_entity_sync_duration_seconds_count', { remote: A, entity: 'catalogs' })).toBe(1);
    expect(sample(text, 'pdbsync_entity_sync_duration_seconds_sum', { remote: A, entity: 'catalogs' })).toBe(75);
    expect(sample(text, 'pdbsync_entity_sync_duration_seconds_bucket', { remote: A, entity: 'catalogs', le: '60' })).toBe(0);
    expect(sample(text, 'pdbsync_entity_sync_duration_seconds_bucket', { remote: A, entity: 'catalogs', le: '120' })).toBe(1);
    expect(sample(text, 'pdbsync_entity_sync_duration_seconds_sum', { remote: A, entity: 'nodes' })).toBe(0.2);
  });

  it('times the last reconciliation and the lag from the start of the last successful pass', async () => {
    const { clock, metrics } = setup();
    metrics.syncState(A, new Map([['catalogs', T0 - 5_000], ['reports', null]]), null);
    let text = await metrics.text();
    expect(sample(text, 'pdbsync_watermark_timestamp_seconds', { remote: A, entity: 'catalogs' })).toBe(T0 / 1000 - 5);
    expect(sample(text, 'pdbsync_watermark_timestamp_seconds', { remote: A, entity: 'reports' })).toBeUndefined();
    expect(sample(text, 'pdbsync_seconds_since_last_reconcile', { remote: A })).toBeUndefined();
    expect(sample(text, 'pdbsync_lag_seconds', { remote: A })).toBeUndefined();

    metrics.passFinished(A, pass(A, [catalogsOk]), 20_000);
    metrics.syncState(A, new Map(), T0 - 60_000);
    clock.ms = T0 + 30_000;
    text = await metrics.text();
    expect(sample(text, 'pdbsync_last_reconcile_timestamp_seconds', { remote: A })).toBe(T0 / 1000 - 60);
    expect(sample(text, 'pdbsync_seconds_since_last_reconcile', { remote: A })).toBe(90);
    expect(sample(text, 'pdbsync_lag_seconds', { remote: A })).toBe(50);
  });

  it('has no lag before the first reconciliation completed, and keeps the later start when a long reconciliation ends after incremental passes', async () => {
    const { clock, metrics } = setup();
    clock.ms = T0;
    metrics.passFinished(A, pass(A, [catalogsOk]), 1_000);
    expect(sample(await metrics.text(), 'pdbsync_lag_seconds', { remote: A }), 'an incremental pass beside the first reconciliation').toBeUndefined();
    clock.ms = T0 + 10_000;
    metrics.passFinished(A, { ...pass(A, [catalogsOk]), kind: 'reconcile' }, 600_000);
    metrics.syncState(A, new Map(), T0 - 590_000);
    expect(sample(await metrics.text(), 'pdbsync_lag_seconds', { remote: A }), 'from the incremental pass, not the reconciliation that started 10 minutes ago').toBe(11);
  });

  it('shows the role and the state database, and leaves out what does not apply', async () => {
    const { metrics } = setup();
    let sidecar: SidecarStatus = { role: 'single', leaderPresent: null, stateDatabase: null };
    metrics.watchSidecar(() => sidecar, () => []);
    let text = await metrics.text();
    expect(sample(text, 'pdbsync_leader', {})).toBe(1);
    expect(sample(text, 'pdbsync_leader_present', {})).toBeUndefined();
    expect(sample(text, 'pdbsync_state_database_up', {})).toBeUndefined();
    sidecar = { role: 'standby', leaderPresent: false, stateDatabase: { database: 'db', available: true, error: null } };
    text = await metrics.text();
    expect(sample(text, 'pdbsync_leader', {})).toBe(0);
    expect(sample(text, 'pdbsync_leader_present', {})).toBe(0);
    expect(sample(text, 'pdbsync_state_database_up', {})).toBe(1);
    sidecar = { role: 'standby', leaderPresent: null, stateDatabase: { database: 'db', available: false, error: 'down' } };
    text = await metrics.text();
    expect(sample(text, 'pdbsync_leader_present', {})).toBeUndefined();
    expect(sample(text, 'pdbsync_state_database_up', {})).toBe(0);
  });

  it('counts failed requests per server', async () => {
    const { metrics } = setup({ remotes: [A] });
    metrics.requestFailed(A);
    metrics.requestFailed(A);
    metrics.requestFailed('http://127.0.0.1:8080');
    const text = await metrics.text();
    expect(sample(text, 'pdbsync_failed_requests_total', { remote: A })).toBe(2);
    expect(sample(text, 'pdbsync_failed_requests_total', { remote: 'http://127.0.0.1:8080' })).toBe(1);
  });

  it('shows an entity\'s progress once it has run sync.progress-interval, and none once it ends', async () => {
    const clock = { ms: T0 };
    const progress = new ProgressTracker(30_000, () => clock.ms);
    const metrics = new SyncMetrics({ now: () => clock.ms, processMetrics: false, progress });
    const labels = { remote: A, entity: 'factsets', kind: 'reconcile' };
    const factsets = progress.entityStarted(A, 'factsets', 'reconcile');
    factsets.expectParts([undefined]);
    factsets.compared(1_000, 60, true);
    clock.ms += 20_000;
    for (let i = 0; i < 20; i++) factsets.pullEnded('transferred');
    expect(sample(await metrics.text(), 'pdbsync_progress_records_done', labels)).toBeUndefined();
    clock.ms += 10_000;
    const running = await metrics.text();
    expect([
      sample(running, 'pdbsync_progress_records_done', labels),
      sample(running, 'pdbsync_progress_records_to_do', labels),
      sample(running, 'pdbsync_progress_to_do_complete', labels),
      sample(running, 'pdbsync_progress_records_per_second', labels),
      sample(running, 'pdbsync_progress_eta_seconds', labels),
    ]).toEqual([20, 60, 1, 20 / 30, 60]);
    factsets.finished();
    const ended = await metrics.text();
    expect(ended).not.toMatch(/^pdbsync_progress_\w+\{/m);
    expect(ended).toContain('# TYPE pdbsync_progress_records_done gauge');
  });
});
