/**
 * PuppetDB's duration syntax, as used by its own settings (node-ttl, node-purge-ttl,
 * report-ttl) and by Puppet Enterprise's `sync.remotes[].interval`: a non-negative
 * integer immediately followed by one unit, ms, s, m, h or d ("500ms", "30s", "2m",
 * "1h", "7d"). HOCON's own duration forms ("2 minutes", "2 min", "1.5h") are NOT
 * accepted: PuppetDB rejects them, and a file that works here must work there.
 */

const UNIT_MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
} as const;

const DURATION = /^(\d+)(ms|s|m|h|d)$/;

/** Milliseconds for a PuppetDB duration; throws an Error (plain, the caller adds key and position) otherwise. */
export function parseDuration(text: string): number {
  const match = DURATION.exec(text);
  if (match === null) {
    throw new Error(`${JSON.stringify(text)} is not a duration (30s, 2m, 1h, 7d)`);
  }
  const amount = Number(match[1]);
  const ms = amount * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (!Number.isSafeInteger(ms)) {
    throw new Error(`${JSON.stringify(text)} is too long a duration`);
  }
  return ms;
}

