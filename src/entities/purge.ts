import { inactiveNodes } from '../puppetdb/query.ts';
import { isUnreadable, readRow, type QuerySource } from './entity.ts';
import { FieldReader } from './fields.ts';

function parseInactiveNode(raw: unknown): { certname: string; since: number | undefined } {
  const node = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'inactive node row');
  return { certname: node.string('certname'), since: (node.optionalTimestamp('deactivated') ?? node.optionalTimestamp('expired'))?.ms };
}

/**
 * Nodes the remote deactivated or expired before `cutoff` (now - node-purge-ttl): the
 * local server has purged them or soon will, and pulling any of their records would
 * bring back what was removed on purpose (PDB-4479). No entity pulls them. A row
 * whose times cannot be read counts as gone, so that it neither stops the pass nor
 * brings a purged node back; one without a certname names no node to leave out.
 */
export async function remoteNodesGoneBefore(remote: QuerySource, cutoff: number): Promise<Set<string>> {
  const gone = new Set<string>();
  const spec = { query: inactiveNodes(['certname', 'deactivated', 'expired'], 'deactivated or expired') };
  for await (const raw of remote.query(spec)) {
    const node = readRow(raw, parseInactiveNode, 'certname');
    if (isUnreadable(node)) {
      if (node.certname !== undefined) gone.add(node.certname);
    } else if (node.since !== undefined && node.since < cutoff) gone.add(node.certname);
  }
  return gone;
}
