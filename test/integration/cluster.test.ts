import { describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';

const servers = inject('pdbServers');

async function command(url: string, name: string, version: number, certname: string, payload: { producer_timestamp: string; [key: string]: unknown }) {
  const qs = new URLSearchParams({ command: name, version: String(version), certname, 'producer-timestamp': payload.producer_timestamp });
  const res = await fetch(`${url}/pdb/cmd/v1?${qs}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(payload),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function query(url: string, ast: unknown): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${url}/pdb/query/v4?${new URLSearchParams({ query: JSON.stringify(ast) })}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>[];
}

describe('test cluster', () => {
  it('has running servers', async () => {
    expect(servers.length).toBeGreaterThan(0);
    for (const url of servers) {
      const res = await fetch(`${url}/status/v1/simple`);
      expect((await res.text()).trim()).toBe('running');
    }
  });

  it('stores replace_facts and an old deactivate_node', async () => {
    const url = servers[0]!;
    const certname = 'cluster-test.example.com';
    const day = 24 * 3600 * 1000;
    const factsAt = new Date(Date.now() - 21 * day).toISOString();
    await command(url, 'replace_facts', 5, certname, {
      certname,
      environment: 'production',
      values: { os: { family: 'Debian' }, answer: 42 },
      producer_timestamp: factsAt,
      producer: 'puppet.example.com',
      package_inventory: [['pkg', '1.0', 'apt']],
    });
    await waitForQueueDrained(url);
    const factsets = await query(url, ['from', 'factsets', ['=', 'certname', certname]]);
    expect(factsets).toHaveLength(1);
    expect(factsets[0]).toMatchObject({ certname, environment: 'production', producer_timestamp: factsAt });

    // Must be later than the facts' producer_timestamp, or PuppetDB ignores the deactivation.
    const deactivatedAt = new Date(Date.now() - 20 * day).toISOString();
    await command(url, 'deactivate_node', 3, certname, { certname, producer_timestamp: deactivatedAt });
    await waitForQueueDrained(url);
    const nodes = await query(url, ['from', 'nodes', ['and', ['=', 'certname', certname], ['=', 'node_state', 'any']]]);
    expect(nodes).toHaveLength(1);
    expect(nodes[0]?.deactivated).toBe(deactivatedAt);
    expect(await query(url, ['from', 'nodes', ['=', 'certname', certname]])).toHaveLength(0);
  });
});
