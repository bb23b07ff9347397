import type { QuerySpec } from '../puppetdb/client.ts';
import type { Command } from '../puppetdb/command.ts';
import { ascendingBy, extract, fieldIn, from, newest, withAnyNodeState, type Ast } from '../puppetdb/query.ts';
import type { SummaryRow, UnreadableRow } from '../types.ts';
import { isUnreadable, readMax, readRow, type Change, type Entity, type QuerySource } from './entity.ts';
import { FieldReader, type Timestamp } from './fields.ts';
import { commandPayload } from './command-row.ts';
import { RecordReader } from './record-reader.ts';

/**
 * Node status: a deactivation on the remote is pulled when it is not older than
 * anything the local server knows of the node (the producer_timestamp of its
 * factset, catalog and reports) and later than the local deactivation, which is the
 * rule PuppetDB itself applies to deactivate_node. Expiry is each server's own policy
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

/**
 * A node's version is the latest of its deactivation and its data. At an equal time the
 * deactivation wins, as in PuppetDB, which keeps a node deactivated at the time of its
 * newest data: a deactivated row beats an active one at the same time.
 */
function row(certname: string, deactivated: Timestamp | null, newestMs: number): NodeRow {
  const deactivatedMs = deactivated?.ms ?? Number.NEGATIVE_INFINITY;
  return {
    key: certname,
    certname,
    deactivated: deactivated?.text ?? null,
    version: { time: Math.max(deactivatedMs, newestMs), tieBreak: [deactivated !== null && deactivatedMs >= newestMs ? 'deactivated' : 'active'] },
  };
}

function parseRemoteRow(raw: unknown): NodeRow {
  const node = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'node summary row');
  const deactivated = node.timestamp('deactivated');
  return row(node.string('certname'), deactivated, deactivated.ms);
}

/** deactivate_node v3: a deactivation at its producer time, as a remote server lists it. */
export function deactivationCommandRow(command: Command): NodeRow | undefined {
  const payload = commandPayload(command, 'deactivate_node', [3]);
  if (!payload) return undefined;
  const deactivated = payload.producerTimestamp();
  return row(payload.certname(), deactivated, deactivated.ms);
}

async function* remoteRows(remote: QuerySource, spec: QuerySpec): AsyncGenerator<NodeRow | UnreadableRow> {
  for await (const raw of remote.query(spec)) yield readRow(raw, parseRemoteRow, 'certname');
}

function parseNewestData(raw: unknown): { certname: string; time: number | undefined } {
  const record = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'node data summary row');
  return { certname: record.string('certname'), time: (record.optionalTimestamp('producer_timestamp') ?? record.optionalTimestamp('max'))?.ms };
}

/**
 * Every local node, or those `filter` selects, with its own deactivation and its newest
 * data. A node whose data row cannot be read is unreadable too: its newest time is unknown.
 */
async function* localRows(local: QuerySource, filter?: Ast): AsyncGenerator<NodeRow | UnreadableRow> {
  const newest = new Map<string, number>();
  const unreadableData = new Map<string, Error>();
  const withoutCertname: UnreadableRow[] = [];
  const readNewest = async (spec: QuerySpec) => {
    for await (const raw of local.query(spec)) {
      const data = readRow(raw, parseNewestData, 'certname');
      if (!isUnreadable(data)) {
        if (data.time !== undefined) newest.set(data.certname, Math.max(data.time, newest.get(data.certname) ?? data.time));
      } else if (data.certname === undefined) withoutCertname.push(data);
      else unreadableData.set(data.certname, data.unreadable);
    }
  };
  await Promise.all(newestData(filter).map(readNewest));
  yield* withoutCertname;
  const parseLocalRow = (raw: unknown): NodeRow => {
    const node = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'node summary row');
    const certname = node.string('certname');
    const deactivated = node.optionalTimestamp('deactivated');
    const dataError = unreadableData.get(certname);
    if (dataError) throw dataError;
    return row(certname, deactivated, newest.get(certname) ?? Number.NEGATIVE_INFINITY);
  };
  const nodes = { query: from('nodes', extract(['certname', 'deactivated'], withAnyNodeState(filter))), ...(filter === undefined && { options: ascendingBy('certname') }) };
  for await (const raw of local.query(nodes)) yield readRow(raw, parseLocalRow, 'certname');
}

/**
 * Every deactivated node the remote lists, at every incremental pass: PuppetDB keeps no
 * receive time of a deactivation and cannot filter on its time, and the list is short
 * (nodes deactivated within node-purge-ttl). The nodes unchanged since the last pass
 * need no local lookup.
 */
async function* changes(remote: QuerySource): AsyncGenerator<Change<NodeRow> | UnreadableRow> {
  for await (const node of remoteRows(remote, deactivatedNodes())) yield isUnreadable(node) ? node : { row: node, mark: node.version.time };
}

/** The remote's summary row is the whole record: it is read again as one, strictly. */
export function deactivationToCommand(node: NodeRow): Command {
  if (node.deactivated === null) throw new Error(`node ${node.certname} has no deactivation to pull`);
  const record = new RecordReader({ certname: node.certname, deactivated: node.deactivated }, 'deactivation');
  const certname = record.certname();
  const producerTimestamp = record.timestamp('deactivated').text;
  return { command: 'deactivate_node', version: 3, certname, producerTimestamp, payload: { certname, producer_timestamp: producerTimestamp } };
}

export const nodes: Entity<NodeRow> = {
  name: 'nodes',
  logPhase: 'deactivate',
  // PuppetDB records a deactivation even for a certname it holds no data of, so a
  // node known only as deactivated converges too.
  pullWhenMissing: true,
  // The summary row is the whole deactivation, and its version has no tie-break.
  tiesByContent: false,
  remoteSummary: (remote) => remoteRows(remote, deactivatedNodes(undefined, ascendingBy('certname'))),
  localSummary: (local) => localRows(local),
  watermark: (remote) => readMax(remote, { query: newest('nodes', 'deactivated', withAnyNodeState()) }, 'newest deactivation'),
  changes,
  counterparts: (local, rows) => localRows(local, fieldIn('certname', rows.map((node) => node.certname))),
  recordQuery: () => undefined,
  commandRow: deactivationCommandRow,
  toCommand: (node) => deactivationToCommand(node),
};
