import { beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { DAY_MS, expectQuietBothWays, iso, query, submit, syncInto, transferredWithPrefix, type RunResult } from './pdb.ts';

const [serverA, serverB] = inject('pdbServers') as [string, string];
const prefix = `fn-${Date.now().toString(36)}`;
const base = Date.now() - 3600_000;

function factset(name: string, at: number, values: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    certname: `${prefix}-${name}`,
    environment: 'production',
    producer_timestamp: iso(at),
    producer: 'puppet-a.example.net',
    values: { os: { family: 'Debian', release: { major: '12' } }, load_averages: { '1m': 0.0 }, ...values },
    package_inventory: [
      ['openssl', '3.0.15', 'apt'],
      ['bash', '5.2.15', 'apt'],
      [`${name}-tool`, '1.0', 'gem'],
    ],
    ...extra,
  };
}

const deactivation = (name: string, at: number) => ({ certname: `${prefix}-${name}`, producer_timestamp: iso(at) });

/** What must be equal on both servers for every factset. */
async function factsetsOn(url: string): Promise<Record<string, unknown>> {
  const rows = await query(url, [
    'from',
    'factsets',
    ['extract', ['certname', 'hash', 'producer_timestamp', 'environment', 'producer'], ['and', ['=', 'node_state', 'any'], ['~', 'certname', `^${prefix}-`]]],
  ]);
  return Object.fromEntries(rows.map((row) => [row.certname, row]));
}

async function nodeStatusOn(url: string): Promise<Record<string, string | null>> {
  const rows = await query(url, ['from', 'nodes', ['extract', ['certname', 'deactivated'], ['and', ['=', 'node_state', 'any'], ['~', 'certname', `^${prefix}-`]]]]);
  return Object.fromEntries(rows.map((row) => [row.certname, row.deactivated as string | null]));
}

async function packageCount(url: string, certname: string): Promise<number> {
  const rows = await query(url, ['from', 'package_inventory', ['=', 'certname', certname]]);
  return rows.length;
}

describe('factsets and node status between two real PuppetDBs', () => {
  let firstIntoB: RunResult;
  let firstIntoA: RunResult;

  beforeAll(async () => {
    // Loaded in two rounds with a drained queue between them: PuppetDB 7 misbehaves
    // when a second command for one certname arrives while the first is queued.
    const onlyA = [
      factset('only-a', base, { role: 'web' }),
      factset('newer-on-a', base + 120_000, { role: 'new' }),
      factset('tie', base, { role: 'tie-a' }),
      factset('tie-producer', base, { role: 'same' }, { producer: 'puppet-z.example.net' }),
      factset('deactivated-on-a', base, { role: 'db' }),
      factset('deactivated-only-on-a', base, { role: 'gone' }),
      factset('deactivated-at-data-time', base, { role: 'same-time' }),
      factset('stale-deactivation', base, { role: 'old' }),
      factset('purged-on-a', Date.now() - 30 * DAY_MS, { role: 'ancient' }),
    ];
    const onlyB = [
      factset('only-b', base, { role: 'db' }),
      factset('newer-on-a', base, { role: 'old' }),
      factset('newer-on-b', base + 60_000, { role: 'new' }),
      // Another producer at the same time: a real conflict, which the content decides.
      factset('tie', base, { role: 'tie-b' }, { producer: 'puppet-c.example.net' }),
      factset('tie-producer', base, { role: 'same' }, { producer: 'puppet-b.example.net' }),
      factset('deactivated-on-a', base, { role: 'db' }),
      factset('deactivated-at-data-time', base, { role: 'same-time' }),
      factset('stale-deactivation', base + 600_000, { role: 'renewed' }),
    ];
    const onA2 = [factset('newer-on-b', base, { role: 'old' })];
    await Promise.all([...onlyA.map((f) => submit(serverA, 'replace_facts', 5, f)), ...onlyB.map((f) => submit(serverB, 'replace_facts', 5, f))]);
    await Promise.all([waitForQueueDrained(serverA), waitForQueueDrained(serverB)]);
    await Promise.all(onA2.map((f) => submit(serverA, 'replace_facts', 5, f)));
    await submit(serverA, 'deactivate_node', 3, deactivation('deactivated-on-a', base + 300_000));
    await submit(serverA, 'deactivate_node', 3, deactivation('deactivated-only-on-a', base + 300_000));
    // At the time of the node's newest data: PuppetDB keeps it deactivated, and so must B.
    await submit(serverA, 'deactivate_node', 3, deactivation('deactivated-at-data-time', base));
    // Older than B's newer facts for the node: B keeps it active and A takes B's facts.
    await submit(serverA, 'deactivate_node', 3, deactivation('stale-deactivation', base + 300_000));
    await submit(serverA, 'deactivate_node', 3, deactivation('purged-on-a', Date.now() - 20 * DAY_MS));
    await waitForQueueDrained(serverA);

    const before = [await factsetsOn(serverA), await factsetsOn(serverB)];
    expect(before[0]![`${prefix}-tie`]).not.toEqual(before[1]![`${prefix}-tie`]);

    firstIntoB = await syncInto(serverB, serverA);
    firstIntoA = await syncInto(serverA, serverB);
  });

  it('exits 0 and logs every phase in the sync schema', () => {
    for (const result of [firstIntoB, firstIntoA]) {
      expect(result.code).toBe(0);
      const phases = result.logs.map((line) => `${line.phase}/${line.sync_event}`);
      expect(phases).toEqual(expect.arrayContaining(['sync/start', 'sync/finished', 'entity/start', 'entity/finished']));
      for (const line of result.logs) {
        expect(line['@timestamp']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(line.level);
      }
      const finished = result.logs.find((line) => line.phase === 'sync' && line.sync_event === 'finished')!;
      expect(finished).toMatchObject({ ok: true, remote: expect.any(String), elapsed: expect.any(Number) });
    }
  });

  it('transfers the records that differ, in both directions', () => {
    // Into B: only-a, newer-on-a, deactivated-only-on-a, and the deactivations of
    // deactivated-on-a and deactivated-at-data-time; into A: only-b, newer-on-b,
    // stale-deactivation; and each tie (tie, tie-producer) one way or the other, towards
    // the content that wins it. Never purged-on-a.
    const intoB = transferredWithPrefix(firstIntoB, prefix);
    const intoA = transferredWithPrefix(firstIntoA, prefix);
    expect(intoB.facts! + intoA.facts!).toBe(8);
    expect(intoB.facts).toBeGreaterThanOrEqual(3);
    expect(intoA.facts).toBeGreaterThanOrEqual(3);
    expect(intoB.nodes).toBe(3);
    expect(intoA.nodes ?? 0).toBe(0);
  });

  it('leaves every factset equal on both servers, ties included', async () => {
    const [a, b] = [await factsetsOn(serverA), await factsetsOn(serverB)];
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).filter((name) => name !== `${prefix}-purged-on-a`).sort());
    for (const [certname, row] of Object.entries(b)) expect(a[certname], certname).toEqual(row);
    expect(b[`${prefix}-newer-on-a`]).toMatchObject({ producer_timestamp: iso(base + 120_000) });
    expect(b[`${prefix}-stale-deactivation`]).toMatchObject({ producer_timestamp: iso(base + 600_000) });
  });

  it('keeps the package inventory', async () => {
    for (const name of ['only-a', 'only-b']) {
      const certname = `${prefix}-${name}`;
      expect(await packageCount(serverA, certname)).toBe(3);
      expect(await packageCount(serverB, certname)).toBe(3);
    }
  });

  it('leaves every node with the same status on both servers', async () => {
    const [a, b] = [await nodeStatusOn(serverA), await nodeStatusOn(serverB)];
    delete a[`${prefix}-purged-on-a`];
    expect(b).toEqual(a);
    expect(b[`${prefix}-deactivated-on-a`]).toBe(iso(base + 300_000));
    expect(b[`${prefix}-deactivated-only-on-a`]).toBe(iso(base + 300_000));
    expect(b[`${prefix}-deactivated-at-data-time`]).toBe(iso(base));
    expect(b[`${prefix}-stale-deactivation`]).toBeNull();
    expect(b[`${prefix}-only-a`]).toBeNull();
  });

  it('does not pull a node deactivated on the remote longer ago than node-purge-ttl', async () => {
    expect(await nodeStatusOn(serverA)).toHaveProperty(`${prefix}-purged-on-a`);
    expect(await nodeStatusOn(serverB)).not.toHaveProperty(`${prefix}-purged-on-a`);
  });

  it('transfers nothing on a second pass in either direction', async () => {
    await expectQuietBothWays(serverA, serverB);
  });
});
