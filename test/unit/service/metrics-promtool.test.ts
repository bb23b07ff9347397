import { describe, expect, it } from 'vitest';
import { ProgressTracker } from '../../../src/progress/tracker.ts';
import { SyncMetrics } from '../../../src/service/metrics.ts';
import type { EntityResult } from '../../../src/types.ts';
import { promtool } from './promtool.ts';

const A = 'https://pdb2.example.net:8081';
const LOCAL = 'http://127.0.0.1:8080';

/** Metrics with every series in use: passes that succeeded and failed, records, rows, the local server, the role, an entity in progress. */
async function fedMetrics(): Promise<string> {
  let now = Date.now();
  const progress = new ProgressTracker(30_000, () => now);
  const metrics = new SyncMetrics({ remotes: [A], progress });
  const reports = progress.entityStarted(A, 'reports', 'reconcile');
  reports.expectParts([100, 300]);
  reports.rowRead('remote');
  reports.compared(100, 10, true);
  now += 40_000;
  reports.pullEnded('transferred');
  metrics.watchSidecar(() => ({ role: 'leader', leaderPresent: true, stateDatabase: { database: 'pdbsync', available: true, error: null } }), () => [{ url: 'http://127.0.0.1:8080', role: 'local' as const, version: '8.8.1' }, { url: 'https://pdb2.example.net:8081', role: 'remote' as const, version: 'unknown' }]);
  const entity: EntityResult = { entity: 'catalogs', kind: 'reconcile', ok: true, transferred: 2, failed: 1, skipped: 1, remoteRows: 10, localRows: 9 };
  metrics.recordFinished(A, 'catalogs', 30, true);
  metrics.recordFinished(A, 'catalogs', 900, false);
  metrics.entityFinished(A, entity, 1_500);
  metrics.passFinished(A, { remote: A, kind: 'reconcile', ok: false, entities: [entity] }, 2_000);
  metrics.passFinished(A, { remote: A, kind: 'incremental', ok: true, entities: [entity] }, 800);
  metrics.syncState(A, new Map([['catalogs', Date.now() - 60_000]]), Date.now() - 30_000);
  metrics.requestFailed(LOCAL);
  metrics.localStatus({ up: true, queueDepth: 3 });
  return metrics.text();
}

describe('promtool check metrics', () => {
  it('finds nothing to say of the sidecar\'s metrics', async () => {
    const text = await fedMetrics();
    // The series that prove the text is the fed one, not an empty registry.
    expect(text).toMatch(/^pdbsync_records_failed_total\{remote="[^"]+",entity="catalogs"\} 1$/m);
    expect(text).toMatch(/^pdbsync_local_queue_depth 3$/m);
    expect(text).toMatch(/^pdbsync_progress_records_to_do\{remote="[^"]+",entity="reports",kind="reconcile"\} 40$/m);
    expect(text).toMatch(/^pdbsync_progress_eta_seconds\{remote="[^"]+",entity="reports",kind="reconcile"\} 1560$/m);
    expect(text).toMatch(/^pdbsync_progress_rows_read\{remote="[^"]+",entity="reports",kind="reconcile",side="local"\} 0$/m);
    expect(text).toMatch(/^nodejs_active_handles\{/m);
    const result = promtool(['check', 'metrics'], { input: text });
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('would flag a gauge named like a counter (the check is live)', () => {
    const result = promtool(['check', 'metrics'], { input: '# HELP x_total A gauge.\n# TYPE x_total gauge\nx_total 1\n' });
    expect(result.output).toContain('non-counter metrics should not have "_total" suffix');
    expect(result.status).not.toBe(0);
  });
});
