import type { Registry } from 'prom-client';
import { SyncMetrics } from '../../../src/service/metrics.ts';
import { SpoolMetrics } from '../../../src/spool/metrics.ts';

/** Words of PromQL that are not metric names when they are not followed by `(`. */
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads, Grafana's variables allowed. Strings,
 * label matchers, ranges and grouping labels are cut out first; of the identifiers
 * left, those followed by `(` are functions and aggregations.
 */
export function promqlMetricNames(expr: string): string[] {
  const bare = expr
    .replace(/\$\{?\w+\}?/g, '5m')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names = [...bare.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*(?!\s*\(|[\w:])/g)].map((match) => match[0]);
  return [...new Set(names.filter((name) => !KEYWORDS.has(name.toLowerCase())))];
}

/** Every series name a registry can expose: a histogram's _bucket, _sum and _count. */
export async function exposedNames(registry: Registry): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    else names.add(metric.name);
  }
  return names;
}

/** Every name the sidecar can expose: its metrics, the process ones and the sidecar gauges. */
export async function sidecarNames(): Promise<Set<string>> {
  const metrics = new SyncMetrics();
  metrics.watchSidecar(() => ({ role: 'single', leaderPresent: null, stateDatabase: null }), () => [{ url: 'http://127.0.0.1:8080', role: 'local' as const, version: '8.8.1' }, { url: 'https://pdb2.example.net:8081', role: 'remote' as const, version: 'unknown' }]);
  return exposedNames(metrics.registry);
}

/** Every name the spool can expose: its metrics and the process ones. */
export async function spoolNames(): Promise<Set<string>> {
  const metrics = new SpoolMetrics({ stats: () => ({ commands: 0, bytes: 0, oldestReceivedAt: null, pending: new Map() }), maxBytes: 1, servers: ['https://pdb1.example.net:8081'] });
  return exposedNames(metrics.registry);
}
