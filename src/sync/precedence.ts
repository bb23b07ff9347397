import type { PullReason, Version } from '../types.ts';

/**
 * Versions in order: time first; at equal time, equal identities are equal; otherwise
 * the tie-break strings by code unit. Equal identities make this order not quite
 * total (two rows of one identity may order differently against a third), but every
 * strict step between identities follows the tie-break, so records only ever move
 * towards one winner and never round in a circle.
 */
export function compareVersions(a: Version, b: Version): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.identity !== undefined && a.identity === b.identity) return 0;
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
