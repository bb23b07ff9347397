import { beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForQueueDrained } from '../../scripts/cluster.ts';
import { syncInto, transferredWithPrefix, type RunResult } from './pdb.ts';
import { NODE, applyNotify, ensurePuppet, expectRunSucceeded, puppetConfDir, storedOn, type StoredRuns } from './puppet-agent.ts';

// A real Puppet run (Debian's puppet and puppet-terminus-puppetdb) writes its facts,
// catalog and report into server A through the real terminus, as docs/puppet.md sets
// it up but without command_broadcast; the sidecar then brings them to B.
const [serverA, serverB] = inject('pdbServers') as [string, string];
const https = inject('pdbHttps');

describe('a real Puppet run through the PuppetDB terminus, then the sidecar', () => {
  let since: string;
  let onA: StoredRuns;
  let intoB: RunResult;

  beforeAll(async () => {
    if (!https) throw new Error('PDBSYNC_TEST_HTTPS_URLS is not set: the terminus talks https');
    ensurePuppet();
    const confdir = puppetConfDir(https.pkiDir, `[main]\nserver_urls = ${https.urls[0]}\nsoft_write_failure = false\n`);
    since = new Date(Date.now() - 1000).toISOString();
    expectRunSucceeded(applyNotify(confdir, 'puppetdb-sync test run'));
    await waitForQueueDrained(serverA);
    onA = await storedOn(serverA, since);
    intoB = await syncInto(serverB, serverA);
  });

  it('stored the run on A: its factset, its catalog and its report', () => {
    expect(onA.factset).toMatch(/^[0-9a-f]{40}$/);
    expect(onA.catalog).toMatch(/^[0-9a-f]{40}$/);
    expect(onA.reports).toHaveLength(1);
  });

  it('brings them to B as Puppet wrote them: B computes the same hashes', async () => {
    expect(intoB.code).toBe(0);
    const moved = transferredWithPrefix(intoB, NODE);
    expect(moved.catalogs).toBe(1);
    expect(moved.reports).toBe(1);
    expect(await storedOn(serverB, since)).toEqual(onA);
  });

  it('then finds the servers in step: a second pass moves nothing of this node', async () => {
    expect(transferredWithPrefix(await syncInto(serverB, serverA), NODE)).toEqual({});
  });
});
