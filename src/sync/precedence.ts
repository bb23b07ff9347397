import type { PullReason, Version } from '../types.ts';

/** What an entity's summary rows let the diff decide by themselves (the entity declares it). */
export interface PrecedenceRule {
  /** Whether a row the local server lacks entirely is pulled. */
  readonly pullWhenMissing: boolean;
  /**
   * Whether a tie is decided by the records' content: for an entity whose summary row
   * is not the whole record, its tie-break is only a fingerprint (a server's hash, the
   * producer), so a tie is pulled whichever fingerprint is greater, and the transfer
   * reads both records to decide. Otherwise the greater tie-break wins.
   */
  readonly tiesByContent: boolean;
}

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
 * Whether the remote version replaces the local one, and why. A later time is
 * `newer`; equal versions are in step. At equal time with another tie-break: for an
 * entity whose ties go by content, a `tie` either way, which the transfer decides
 * (and only one of two servers then takes the other's record); otherwise a `tie` only
 * when the remote's is strictly greater, the same on every server, so that two servers
 * never both pull from each other.
 */
export function pullReason(remote: Version, local: Version | undefined, rule: PrecedenceRule): PullReason | undefined {
  if (local === undefined) return rule.pullWhenMissing ? 'missing' : undefined;
  const order = compareVersions(remote, local);
  if (order === 0) return undefined;
  if (remote.time !== local.time) return order > 0 ? 'newer' : undefined;
  return order > 0 || rule.tiesByContent ? 'tie' : undefined;
}
