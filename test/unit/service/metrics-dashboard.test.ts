import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { promtool } from './promtool.ts';
import { promqlMetricNames, sidecarNames } from './promql-names.ts';

interface Panel {
  readonly title: string;
  readonly targets?: ReadonlyArray<{ readonly expr: string }>;
  readonly panels?: readonly Panel[];
}
interface Dashboard {
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: ReadonlyArray<{ readonly name: string; readonly type: string; readonly query: string | { readonly query: string } }> };
}

const dashboard = JSON.parse(readFileSync(new URL('../../../monitoring/grafana/puppetdb-sync.json', import.meta.url), 'utf8')) as Dashboard;

/** Every query of every panel, rows' panels included, with the panel's title. */
function queries(panels: readonly Panel[]): Array<{ title: string; expr: string }> {
  return panels.flatMap((panel) => [...(panel.targets ?? []).map((target) => ({ title: panel.title, expr: target.expr })), ...queries(panel.panels ?? [])]);
}

/** Grafana's variables as Prometheus sees them once Grafana has put values in. */
const asPromql = (expr: string) => expr.replaceAll('$__rate_interval', '5m');

describe('the Grafana dashboard', () => {
  const all = queries(dashboard.panels);

  it('queries only metrics the sidecar exports, and reads each of its own', async () => {
    const exported = await sidecarNames();
    expect(all.length).toBeGreaterThan(20);
    const read = new Set<string>();
    for (const { title, expr } of all) {
      const names = promqlMetricNames(expr);
      expect(names.length, `${title}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        expect(exported, `${title}: ${expr}`).toContain(name);
        read.add(name);
      }
    }
    const variables = dashboard.templating.list.filter((variable) => variable.type === 'query');
    for (const variable of variables) {
      const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
      const metric = /^label_values\((\w+)/.exec(query)?.[1];
      expect(exported, `variable ${variable.name}: ${query}`).toContain(metric);
    }
    const ours = [...exported].filter((name) => name.startsWith('pdbsync_') && !/_(sum|count)$/.test(name));
    const unread = ours.filter((name) => !read.has(name));
    // The PE names and seconds-since gauges repeat what the dashboard shows otherwise.
    expect(unread.sort()).toEqual([
      'pdbsync_last_failed_sync_time_seconds',
      'pdbsync_last_failed_sync_timestamp_seconds',
      'pdbsync_last_reconcile_timestamp_seconds',
      'pdbsync_last_successful_sync_time_seconds',
      'pdbsync_last_successful_sync_timestamp_seconds',
      'pdbsync_seconds_since_last_failed_sync',
      'pdbsync_seconds_since_last_successful_sync',
      'pdbsync_sync_has_failed_after_working',
      'pdbsync_sync_has_worked_once',
    ]);
  });

  it('has queries Prometheus parses (promtool check rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pdbsync-dashboard-'));
    try {
      const rules = all.map(({ expr }, index) => `      - record: dashboard:query${index}\n        expr: ${JSON.stringify(asPromql(expr))}\n`).join('');
      writeFileSync(join(dir, 'dashboard.yml'), `groups:\n  - name: dashboard\n    rules:\n${rules}`);
      const result = promtool(['check', 'rules', 'dashboard.yml'], { cwd: dir });
      expect(result.output).toContain(`SUCCESS: ${all.length} rules found`);
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
