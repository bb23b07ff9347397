import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';

/**
 * prom-client's gauges whose names end in `_total`, which Prometheus reserves for
 * counters (`promtool check metrics` refuses them). Each has a labelled twin without
 * the suffix (`nodejs_active_handles{type}` ...), whose sum is the same number.
 */
const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * The process and Node.js metrics of prom-client, under the standard unprefixed names
 * (`process_...`, `nodejs_...`) that stock dashboards and alerts query.
 * `eventLoopSampleMs`: how often the event loop's delay is sampled (prom-client's 10 ms
 * unless given); each sample wakes the process, which an idle spool must not do 100
 * times a second.
 */
export function registerProcessMetrics(registry: Registry, eventLoopSampleMs?: number): void {
  collectDefaultMetrics({ register: registry, ...(eventLoopSampleMs !== undefined && { eventLoopMonitoringPrecision: eventLoopSampleMs }) });
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(name);
}

/** The version in package.json: src/service/ and dist/service/ both sit two levels below it. */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}

/** `<prefix>build_info`, always 1: which version runs, on which Node.js, as labels to join on. */
export function registerBuildInfo(registry: Registry, prefix: string): void {
  new Gauge({
    name: `${prefix}build_info`,
    help: 'Always 1; its labels say which puppetdb-sync version runs (version) on which Node.js (nodejs_version).',
    labelNames: ['version', 'nodejs_version'],
    registers: [registry],
  }).set({ version: packageVersion(), nodejs_version: process.version }, 1);
}
