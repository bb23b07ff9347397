import type { Command, QuerySpec } from '../puppetdb/client.ts';
import { ascendingBy, extract, from, inactiveNodes, withAnyNodeState } from '../puppetdb/query.ts';
import type { Entity, QuerySource, SummaryRow } from './entity.ts';
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

const REMOTE_DEACTIVATED: QuerySpec = { query: inactiveNodes(['certname', 'deactivated'], 'deactivated'), options: ascendingBy('certname') };

const LOCAL_NODES: QuerySpec = { query: from('nodes', extract(['certname', 'deactivated'], withAnyNodeState())), options: ascendingBy('certname') };

/** The newest producer_timestamp per certname of each kind of record. */
const LOCAL_NEWEST_DATA: readonly QuerySpec[] = [
  { query: from('factsets', extract(['certname', 'producer_timestamp'], withAnyNodeState())) },
  { query: from('catalogs', extract(['certname', 'producer_timestamp'], withAnyNodeState())) },
  {
    query: from('reports', [
      'extract',
      ['certname', ['function', 'max', 'producer_timestamp']],
      withAnyNodeState(['null?', 'type', false]),
      ['group_by', 'certname'],
    ]),
  },
];

function row(certname: string, deactivated: { text: string; ms: number } | null, newestMs: number): NodeRow {
  return {
    key: certname,
    certname,
    deactivated: deactivated?.text ?? null,
    version: { time: Math.max(deactivated?.ms ?? Number.NEGATIVE_INFINITY, newestMs), tieBreak: [] },
  };
}

async function* remoteSummary(remote: QuerySource): AsyncGenerator<NodeRow> {
  for await (const raw of remote.query(REMOTE_DEACTIVATED)) {
    const node = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'node summary row');
    const deactivated = node.timestamp('deactivated');
    yield row(node.string('certname'), deactivated, deactivated.ms);
  }
}

async function* localSummary(local: QuerySource): AsyncGenerator<NodeRow> {
  const newest = new Map<string, number>();
  const readNewest = async (spec: QuerySpec) => {
    for await (const raw of local.query(spec)) {
      const record = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'node data summary row');
      const certname = record.string('certname');
      const time = (record.optionalTimestamp('producer_timestamp') ?? record.optionalTimestamp('max'))?.ms;
      if (time !== undefined) newest.set(certname, Math.max(time, newest.get(certname) ?? time));
    }
  };
  await Promise.all(LOCAL_NEWEST_DATA.map(readNewest));
  for await (const raw of local.query(LOCAL_NODES)) {
    const node = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'node summary row');
    const certname = node.string('certname');
    yield row(certname, node.optionalTimestamp('deactivated'), newest.get(certname) ?? Number.NEGATIVE_INFINITY);
  }
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
  remoteSummary,
  localSummary,
  recordQuery: () => undefined,
  toCommand: (node) => deactivationToCommand(node),
};
