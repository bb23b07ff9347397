import { describe, expect, it } from 'vitest';
import { deactivationToCommand, nodes, type NodeRow } from '../../../src/entities/nodes.ts';
import { isUnreadable, type QuerySource } from '../../../src/entities/entity.ts';
import type { SyncError } from '../../../src/errors.ts';
import type { QuerySpec } from '../../../src/puppetdb/client.ts';
import { pullReason } from '../../../src/sync/precedence.ts';
import type { UnreadableRow } from '../../../src/types.ts';
import { summaryContext } from '../fixtures.ts';

/** Answers each query by the entity it is `from`. */
function source(byEntity: Record<string, unknown[]>): QuerySource {
  return {
    async *query(spec: QuerySpec) {
      yield* byEntity[(spec.query as unknown[])[1] as string] ?? [];
    },
  };
}

/** Each node's version time, or the code of the error that made its row unreadable. */
async function collect(rows: AsyncIterable<NodeRow | UnreadableRow>): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  for await (const row of rows) out[row.certname ?? '?'] = isUnreadable(row) ? (row.unreadable as SyncError).code : row.version.time;
  return out;
}

const t = (text: string) => Date.parse(text);

describe('nodes', () => {
  it('versions a remote node by its deactivation', async () => {
    const remote = source({ nodes: [{ certname: 'a', deactivated: '2026-11-10T00:00:00.000Z' }] });
    expect(await collect(nodes.remoteSummary(remote, summaryContext()))).toEqual({ a: t('2026-11-10T00:00:00.000Z') });
  });

  it('versions a local node by the latest of its deactivation and its data', async () => {
    const local = source({
      nodes: [
        { certname: 'deactivated-late', deactivated: '2026-11-12T00:00:00.000Z' },
        { certname: 'newer-report', deactivated: null },
        { certname: 'facts-only', deactivated: null },
        { certname: 'nothing', deactivated: null },
      ],
      factsets: [
        { certname: 'deactivated-late', producer_timestamp: '2026-11-01T00:00:00.000Z' },
        { certname: 'facts-only', producer_timestamp: '2026-11-05T00:00:00.000Z' },
        { certname: 'newer-report', producer_timestamp: '2026-11-01T00:00:00.000Z' },
      ],
      catalogs: [{ certname: 'newer-report', producer_timestamp: '2026-11-02T00:00:00.000Z' }],
      reports: [{ certname: 'newer-report', max: '2026-11-09T00:00:00.000Z' }],
    });
    expect(await collect(nodes.localSummary(local, summaryContext()))).toEqual({
      'deactivated-late': t('2026-11-12T00:00:00.000Z'),
      'newer-report': t('2026-11-09T00:00:00.000Z'),
      'facts-only': t('2026-11-05T00:00:00.000Z'),
      nothing: Number.NEGATIVE_INFINITY,
    });
  });

  it.each([
    ['a remote deactivation at the time of the newest local data', '2026-11-05T00:00:00.000Z', null, 'tie'],
    ['a remote deactivation later than the newest local data', '2026-11-06T00:00:00.000Z', null, 'newer'],
    ['a remote deactivation older than the newest local data', '2026-11-04T00:00:00.000Z', null, undefined],
    ['a local deactivation at the same time', '2026-11-05T00:00:00.000Z', '2026-11-05T00:00:00.000Z', undefined],
    ['an older local deactivation', '2026-11-05T00:00:00.000Z', '2026-11-01T00:00:00.000Z', 'tie'],
  ])('precedence: %s', async (_name, remoteDeactivated, localDeactivated, reason) => {
    const remote = source({ nodes: [{ certname: 'n', deactivated: remoteDeactivated }] });
    const local = source({ nodes: [{ certname: 'n', deactivated: localDeactivated }], factsets: [{ certname: 'n', producer_timestamp: '2026-11-05T00:00:00.000Z' }] });
    const versions = async (rows: AsyncIterable<unknown>) => {
      for await (const row of rows) return (row as NodeRow).version;
      throw new Error('no row');
    };
    const remoteVersion = await versions(nodes.remoteSummary(remote, summaryContext()));
    const localVersion = await versions(nodes.localSummary(local, summaryContext()));
    expect(pullReason(remoteVersion, localVersion, nodes)).toBe(reason);
  });

  it('makes a local node unreadable when a row of its data is, and reads the others', async () => {
    const local = source({
      nodes: [
        { certname: 'a', deactivated: null },
        { certname: 'b', deactivated: null },
        { certname: 'c', deactivated: 'yesterday' },
      ],
      factsets: [
        { certname: 'a', producer_timestamp: '2026-11-05T00:00:00.000Z' },
        { certname: 'b', producer_timestamp: '2024-02-30T00:00:00.000Z' },
        { producer_timestamp: '2026-11-05T00:00:00.000Z' },
      ],
    });
    expect(await collect(nodes.localSummary(local, summaryContext()))).toEqual({
      '?': 'PDBSYNC_ERR_RESPONSE_MALFORMED',
      a: t('2026-11-05T00:00:00.000Z'),
      b: 'PDBSYNC_ERR_RESPONSE_MALFORMED',
      c: 'PDBSYNC_ERR_RESPONSE_MALFORMED',
    });
  });

  it('submits deactivate_node v3 at the remote deactivation time', () => {
    const row: NodeRow = { key: 'a', certname: 'a', deactivated: '2026-11-10T00:00:00.000Z', version: { time: 0, tieBreak: [] } };
    expect(deactivationToCommand(row)).toEqual({
      command: 'deactivate_node',
      version: 3,
      certname: 'a',
      producerTimestamp: '2026-11-10T00:00:00.000Z',
      payload: { certname: 'a', producer_timestamp: '2026-11-10T00:00:00.000Z' },
    });
    expect(nodes.recordQuery(row)).toBeUndefined();
  });
});
