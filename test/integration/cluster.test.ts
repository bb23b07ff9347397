import { describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { DAY_MS, iso, query, submit } from './pdb.ts';

const servers = inject('pdbServers');

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
    const certname = `cluster-test-${Date.now().toString(36)}.example.com`;
    const factsAt = iso(Date.now() - 21 * DAY_MS);
    await submit(url, 'replace_facts', 5, {
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
    const deactivatedAt = iso(Date.now() - 20 * DAY_MS);
    await submit(url, 'deactivate_node', 3, { certname, producer_timestamp: deactivatedAt });
    await waitForQueueDrained(url);
    const nodes = await query(url, ['from', 'nodes', ['and', ['=', 'certname', certname], ['=', 'node_state', 'any']]]);
    expect(nodes).toHaveLength(1);
    expect(nodes[0]?.deactivated).toBe(deactivatedAt);
    expect(await query(url, ['from', 'nodes', ['=', 'certname', certname]])).toHaveLength(0);
  });
});
