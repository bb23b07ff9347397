import { describe, expect, it } from 'vitest';
import { remoteNodesGoneBefore } from '../../../src/entities/purge.ts';

const CUTOFF = Date.parse('2026-11-08T00:00:00.000Z');

describe('nodes gone past node-purge-ttl', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ['deactivated before the cutoff', { certname: 'n', deactivated: '2026-11-01T00:00:00.000Z', expired: null }, true],
    ['expired before the cutoff', { certname: 'n', deactivated: null, expired: '2026-11-01T00:00:00.000Z' }, true],
    ['deactivated since', { certname: 'n', deactivated: '2026-11-20T00:00:00.000Z', expired: null }, false],
    ['stored past year 9999, answered without the sign', { certname: 'n', deactivated: '275760-09-13T00:00:00.000Z', expired: null }, false],
    ['with a time that cannot be read: left out rather than brought back', { certname: 'n', deactivated: 'March 7, 2024', expired: null }, true],
  ];
  it.each(cases)('a node %s', async (_name, row, gone) => {
    const remote = {
      async *query() {
        yield row;
        // A row naming no node stops nothing.
        yield { certname: 5, deactivated: 'x' };
      },
    };
    expect([...(await remoteNodesGoneBefore(remote, CUTOFF))]).toEqual(gone ? ['n'] : []);
  });
});
