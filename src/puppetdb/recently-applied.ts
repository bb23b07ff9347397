import { createHash } from 'node:crypto';
import type { SerializedCommand } from './command.ts';

const CAPACITY = 10_000;
const KEPT_MS = 10 * 60_000;

/**
 * The commands a server applied for this process lately, byte for byte: one offered
 * again (a reconciliation and an incremental pass of one remote pulling the same new
 * record, or two remotes offering it) is answered with the first one's uuid instead of
 * being sent again. Safe because the server applied exactly these bytes minutes ago:
 * what has happened to the record since (a newer one, a purge) the same command again
 * would not undo. Kept for KEPT_MS, at most CAPACITY, the oldest dropped first.
 */
export class RecentlyApplied {
  private readonly applied = new Map<string, { readonly uuid: string; readonly at: number }>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** What identifies `command`: its kind, certname, producer time and the digest of its bytes. */
  static key(command: Pick<SerializedCommand, 'command' | 'certname' | 'producerTimestamp' | 'body'>): string {
    const digest = createHash('sha256');
    for (const chunk of command.body) digest.update(chunk);
    return `${command.command}\u0000${command.certname}\u0000${command.producerTimestamp}\u0000${digest.digest('base64')}`;
  }

  /** The uuid the server gave this command, if it applied it within KEPT_MS. */
  uuidOf(key: string): string | undefined {
    const entry = this.applied.get(key);
    if (entry === undefined) return undefined;
    if (this.now() - entry.at < KEPT_MS) return entry.uuid;
    this.applied.delete(key);
    return undefined;
  }

  remember(key: string, uuid: string): void {
    this.applied.delete(key);
    this.applied.set(key, { uuid, at: this.now() });
    if (this.applied.size > CAPACITY) this.applied.delete(this.applied.keys().next().value!);
  }
}
