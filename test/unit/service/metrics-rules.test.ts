import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { promtool } from './promtool.ts';
import { promqlMetricNames, sidecarNames } from './promql-names.ts';

const RULES_DIR = fileURLToPath(new URL('../../../monitoring/prometheus/', import.meta.url));
const RULES = 'puppetdb-sync-rules.yml';

describe('promqlMetricNames', () => {
  it('finds the metrics of an expression and nothing else', () => {
    const expr =
      'histogram_quantile(0.95, sum by (le, remote) (rate(pdbsync_sync_duration_seconds_bucket{job="$job", remote=~"${remote}"}[$__rate_interval] offset 1h))) ' +
      '/ on (remote) group_left(version) pdbsync_build_info > bool 1e3 unless ignoring(le) nodejs_version_info or vector(1) and process_cpu_seconds_total:rate5m';
    expect(promqlMetricNames(expr)).toEqual(['pdbsync_sync_duration_seconds_bucket', 'pdbsync_build_info', 'nodejs_version_info', 'process_cpu_seconds_total:rate5m']);
  });
});

describe('the Prometheus alert rules', () => {
  it('pass promtool check rules', () => {
    const result = promtool(['check', 'rules', RULES], { cwd: RULES_DIR });
    expect(result.output).toContain('SUCCESS: 6 rules found');
    expect(result.status).toBe(0);
  });

  it('pass their unit tests (promtool test rules)', () => {
    const result = promtool(['test', 'rules', 'puppetdb-sync-rules.test.yml'], { cwd: RULES_DIR });
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('query only metrics the sidecar exports', async () => {
    const exported = await sidecarNames();
    const exprs = [...readFileSync(`${RULES_DIR}${RULES}`, 'utf8').matchAll(/^\s*expr: (.+)$/gm)].map((match) => match[1]!);
    expect(exprs).toHaveLength(6);
    for (const expr of exprs) {
      expect(promqlMetricNames(expr).length).toBeGreaterThan(0);
      for (const name of promqlMetricNames(expr)) expect(exported, `${name} in ${expr}`).toContain(name);
    }
  });
});
