import { inactiveNodes } from '../puppetdb/query.ts';
import type { QuerySource } from './entity.ts';
import { FieldReader } from './fields.ts';

/**
 * Nodes the remote deactivated or expired before `cutoff` (now - node-purge-ttl): the
 * local server has purged them or soon will, and pulling any of their records would
 * bring back what was removed on purpose (PDB-4479). No entity pulls them.
 */
export async function remoteNodesGoneBefore(remote: QuerySource, cutoff: number): Promise<Set<string>> {
  const gone = new Set<string>();
  const spec = { query: inactiveNodes(['certname', 'deactivated', 'expired'], 'deactivated or expired') };
  for await (const raw of remote.query(spec)) {
    const node = new FieldReader(raw, 'PDBSYNC_ERR_RESPONSE_MALFORMED', 'inactive node row');
    const since = node.optionalTimestamp('deactivated') ?? node.optionalTimestamp('expired');
    if (since && since.ms < cutoff) gone.add(node.string('certname'));
  }
  return gone;
}
