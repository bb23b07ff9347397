/** A server failing: the first retry after this, doubling while it keeps failing. */
export const SERVER_BACKOFF_FIRST_MS = 5_000;
/** ... up to this: a server back from an outage is found within 5 minutes. */
export const SERVER_BACKOFF_MAX_MS = 300_000;
/** A command PuppetDB did not apply (failed, unconfirmed, refused): tried again after this, doubling... */
export const COMMAND_BACKOFF_FIRST_MS = 60_000;
/** ... up to an hour: PuppetDB itself retries a failed command an hour later. It stays pending until it is applied or max-age removes it. */
export const COMMAND_BACKOFF_MAX_MS = 3_600_000;

/** The wait after a failed round of one server. */
export class ServerBackoff {
  private nextMs = SERVER_BACKOFF_FIRST_MS;

  failed(): number {
    const wait = this.nextMs;
    this.nextMs = Math.min(this.nextMs * 2, SERVER_BACKOFF_MAX_MS);
    return wait;
  }

  succeeded(): void {
    this.nextMs = SERVER_BACKOFF_FIRST_MS;
  }
}

/**
 * The commands of one server that PuppetDB did not apply, each waiting its own
 * backoff before it is checked again. Kept in memory: a restart tries them at once.
 */
export class CommandBackoff {
  private readonly waiting = new Map<number, { readonly retryAt: number; readonly delayMs: number }>();

  get size(): number {
    return this.waiting.size;
  }

  ready(id: number, now: number): boolean {
    return (this.waiting.get(id)?.retryAt ?? now) <= now;
  }

  /** The command failed again: its next wait, and whether this was its first failure (logged louder). */
  failed(id: number, now: number): { delayMs: number; first: boolean } {
    const previous = this.waiting.get(id);
    const delayMs = previous ? Math.min(previous.delayMs * 2, COMMAND_BACKOFF_MAX_MS) : COMMAND_BACKOFF_FIRST_MS;
    this.waiting.set(id, { retryAt: now + delayMs, delayMs });
    return { delayMs, first: previous === undefined };
  }

  forget(id: number): void {
    this.waiting.delete(id);
  }
}
