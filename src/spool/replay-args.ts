/** `spool replay`'s --server and --since, read: a coded usage error for either that does not read. */

import { parseDuration } from '../config/duration.ts';
import { normaliseServerUrl } from '../config/validate.ts';
import { SyncError } from '../errors.ts';

/** ISO 8601 with a date, and a time with a zone when it has a time: nothing left to the host's zone. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;

/** The server, normalised, and the time `since` names, in milliseconds since the epoch: ISO 8601, or a duration back from `now`. */
export function replayTarget(server: string, since: string, now: number): { serverUrl: string; sinceMs: number } {
  let serverUrl: string;
  try {
    serverUrl = normaliseServerUrl(server);
  } catch (error) {
    throw new SyncError('PDBSYNC_ERR_USAGE', `--server: ${(error as Error).message}`);
  }
  return { serverUrl, sinceMs: sinceTime(since, now) };
}

function sinceTime(since: string, now: number): number {
  if (ISO_8601.test(since)) {
    const at = Date.parse(since);
    if (Number.isFinite(at)) return at;
  }
  try {
    return now - parseDuration(since);
  } catch {
    throw new SyncError('PDBSYNC_ERR_USAGE', `--since: ${JSON.stringify(since)} is neither an ISO 8601 time (2026-12-01T00:00:00Z) nor a duration back from now (2h, 3d)`);
  }
}
