import type { QuerySpec } from '../puppetdb/client.ts';
import type { Command } from '../puppetdb/command.ts';
import { ascendingBy, extract, fieldIn, from, newest, withAnyNodeState, type Ast } from '../puppetdb/query.ts';
import type { SummaryRow } from '../types.ts';
import { readMax, type Change, type Entity, type QuerySource } from './entity.ts';
import { FieldReader } from './fields.ts';

/**
 * Node status: a deactivation on the remote is pulled when it is later than
 * anything the local server knows of the node (its own deactivation and the
 * producer_timestamp of its factset, catalog and reports), which is the rule
 * PuppetDB itself applies to deactivate_node. Expiry is each server's own policy
 * (node-ttl) and is not synced.
 */
export interface NodeRow extends SummaryRow {
  /** Remote rows: when the remote deactivated the node. */
  readonly deactivated: string | null;
}

function deactivatedNodes(filter?: Ast, options?: Readonly<Record<string, unknown>>): QuerySpec {
  const deactivated = ['null?', 'deactivated', false];
  return { query: from('nodes', extract(['certname', 'deactivated'], withAnyNodeState(filter ? ['and', deactivated, filter] : deactivated))), ...(options && { options }) };
}

/** The newest producer_timestamp per certname of each kind of record, among the nodes `filter` selects. */
function newestData(filter?: Ast): readonly QuerySpec[] {
  return [
    { query: from('factsets', extract(['certname', 'producer_timestamp'], withAnyNodeState(filter))) },
    { query: from('catalogs', extract(['certname', 'producer_timestamp'], withAnyNodeState(filter))) },
    {
      query: from('reports', [
        'extract',
        ['certname', ['function', 'max', 'producer_timestamp']],
        withAnyNodeState(filter ? ['and', ['null?', 'type', false], filter] : ['null?', 'type', false]),
        ['group_by', 'certname'],
      ]),
    },
  ];
}

function row(certname: string, deactivated: { text: string; ms: number } | null, newestMs: number): NodeRow {
  return {
    key: certname,
    certname,
    deactivated: deactivated?.text ?? null,
    version: { time: Math.max(deactivated?.ms ?? Number.NEGATIVE_INFINITY, newestMs), tieBreak: [] },
  };
}

async function* remoteRows(remote: QuerySource, spec: QuerySpec): AsyncGenerator<NodeRow> {
  for await (const raw of remote.query(spec)) {
    const node = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'node summary row');
    const deactivated = node.timestamp('deactivated');
    yield row(node.string('certname'), deactivated, deactivated.ms);
  }
}

/** Every local node, or those `filter` selects, with its own deactivation and its newest data. */
async function* localRows(local: QuerySource, filter?: Ast): AsyncGenerator<NodeRow> {
  const newest = new Map<string, number>();
  const readNewest = async (spec: QuerySpec) => {
    for await (const raw of local.query(spec)) {
      const record = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'node data summary row');
      const certname = record.string('certname');
      const time = (record.optionalTimestamp('producer_timestamp') ?? record.optionalTimestamp('max'))?.ms;
      if (time !== undefined) newest.set(certname, Math.max(time, newest.get(certname) ?? time));
    }
  };
  await Promise.all(newestData(filter).map(readNewest));
  const nodes = { query: from('nodes', extract(['certname', 'deactivated'], withAnyNodeState(filter))), ...(filter === undefined && { options: ascendingBy('certname') }) };
  for await (const raw of local.query(nodes)) {
    const node = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'node summary row');
    const certname = node.string('certname');
    yield row(certname, node.optionalTimestamp('deactivated'), newest.get(certname) ?? Number.NEGATIVE_INFINITY);
  }
}

/**
 * Every deactivated node the remote lists, at every incremental pass: PuppetDB keeps no
 * receive time of a deactivation and cannot filter on its time, and the list is short
 * (nodes deactivated within node-purge-ttl). The nodes unchanged since the last pass
 * need no local lookup.
 */
async function* changes(remote: QuerySource): AsyncGenerator<Change<NodeRow>> {
  for await (const node of remoteRows(remote, deactivatedNodes())) yield { row: node, mark: node.version.time };
}

export function deactivationToCommand(node: NodeRow): Command {
  if (node.deactivated === null) throw new Error(`node ${node.certname} has no deactivation to pull`);
  return {
    command: 'deactivate_node',
    version: 3,
    certname: node.certname,
    producerTimestamp: node.deactivated,
    payload: { certname: node.certname, producer_timestamp: node.deactivated },
  };
}

export const nodes: Entity<NodeRow> = {
  name: 'nodes',
  logPhase: 'deactivate',
  // PuppetDB records a deactivation even for a certname it holds no data of, so a
  // node known only as deactivated converges too.
  pullWhenMissing: true,
  remoteSummary: (remote) => remoteRows(remote, deactivatedNodes(undefined, ascendingBy('certname'))),
  localSummary: (local) => localRows(local),
  watermark: (remote) => readMax(remote, { query: newest('nodes', 'deactivated', withAnyNodeState()) }, 'newest deactivation'),
  changes,
  counterparts: (local, rows) => localRows(local, fieldIn('certname', rows.map((node) => node.certname))),
  recordQuery: () => undefined,
  toCommand: (node) => deactivationToCommand(node),
};
