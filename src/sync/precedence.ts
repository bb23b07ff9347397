import type { PullReason, Version } from '../types.ts';

/** Total order on versions: time first, then the tie-break strings by code unit. */
export function compareVersions(a: Version, b: Version): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  const length = Math.max(a.tieBreak.length, b.tieBreak.length);
  for (let i = 0; i < length; i++) {
    const left = a.tieBreak[i] ?? '';
    const right = b.tieBreak[i] ?? '';
    if (left !== right) return left < right ? -1 : 1;
  }
  return 0;
}

/**
 * Whether the remote version replaces the local one, and why. Strictly greater
 * only: equal versions are in step, and because the order is total and the same on
 * every server, two servers can never both decide to pull from each other.
 */
export function pullReason(remote: Version, local: Version | undefined, pullWhenMissing: boolean): PullReason | undefined {
  if (local === undefined) return pullWhenMissing ? 'missing' : undefined;
  if (compareVersions(remote, local) <= 0) return undefined;
  return remote.time === local.time ? 'tie' : 'newer';
}
