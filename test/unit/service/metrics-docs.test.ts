import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SyncMetrics } from '../../../src/service/metrics.ts';
import { SpoolMetrics } from '../../../src/spool/metrics.ts';

const operations = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
const section = operations.slice(operations.indexOf('\n## Metrics\n'), operations.indexOf('\n## Divergence check\n'));
const processSection = section.slice(section.indexOf('\n### Process metrics\n'), section.indexOf('\n### Alerts and dashboard\n'));
const spoolSection = section.slice(section.indexOf('\n### Spool metrics\n'), section.indexOf('\n### Process metrics\n'));
const sidecarSection = section.replace(spoolSection, '');
const tableRows = (text: string): string[] => [...text.matchAll(/^\| `(pdbsync_\w+)` \|/gm)].map((match) => match[1]!);

async function registered(): Promise<string[]> {
  const metrics = new SyncMetrics();
  metrics.watchSidecar(() => ({ role: 'single', leaderPresent: null, stateDatabase: null }), () => [{ url: 'http://127.0.0.1:8080', role: 'local' as const, version: '8.8.1' }, { url: 'https://pdb2.example.net:8081', role: 'remote' as const, version: 'unknown' }]);
  return (await metrics.registry.getMetricsAsJSON()).map((metric) => metric.name);
}

describe('docs/operations.md#metrics', () => {
  it('has a table row for each pdbsync_ metric, and none for another', async () => {
    const ours = (await registered()).filter((name) => name.startsWith('pdbsync_'));
    expect(tableRows(sidecarSection).sort()).toEqual(ours.sort());
  });

  it('has a row in its spool table for each metric of the spool, pdbsync_build_info aside (in the table above)', async () => {
    const spool = new SpoolMetrics({ stats: () => ({ commands: 0, bytes: 0, oldestReceivedAt: null, pending: new Map() }), maxBytes: 1, servers: ['http://a:8080'], processMetrics: false });
    const names = (await spool.registry.getMetricsAsJSON()).map((metric) => metric.name).filter((name) => name !== 'pdbsync_build_info');
    expect(spoolSection).toContain('`pdbsync_build_info`');
    expect(names.length).toBeGreaterThan(10);
    expect(tableRows(spoolSection).sort()).toEqual(names.sort());
  });

  it('names each process metric, and the three left out as left out', async () => {
    const named = new Set([...processSection.matchAll(/`((?:process|nodejs)_\w+)`/g)].map((match) => match[1]!));
    const theirs = (await registered()).filter((name) => !name.startsWith('pdbsync_'));
    expect(theirs.length).toBeGreaterThan(20);
    for (const name of theirs) expect(named, name).toContain(name);
    expect([...named].filter((name) => !theirs.includes(name)).sort()).toEqual(['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']);
  });
});
