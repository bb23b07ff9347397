/**
 * What the spool's parts share (docs/architecture.md#the-spool): the journal
 * (journal.ts), the command API that fills it (command-api.ts), the delivery that
 * empties it (delivery.ts) and `spool replay` (replay.ts). This module imports
 * nothing, so none of them imports another in a circle through it.
 */

/** A command as the spool journaled it: exactly what the terminus sent, and when. */
export interface JournaledCommand {
  /** Ascending in the order the commands were journaled. */
  readonly id: number;
  /** The uuid the spool answered the terminus with. */
  readonly uuid: string;
  /** Milliseconds since the epoch, on this host's clock: when the command was journaled. */
  readonly receivedAt: number;
  /** As the command API names it: `replace_facts`, `store_report`, ... */
  readonly command: string;
  readonly version: number;
  readonly certname: string;
  /** The producer-timestamp parameter, or the payload's producer_timestamp when the request had none. */
  readonly producerTimestamp: string;
  /** The request body as received (gzip-compressed when `encoding` says so): the command's payload JSON. */
  readonly body: Buffer;
  readonly encoding: 'identity' | 'gzip';
}

/**
 * Why a command is no longer pending for a server:
 * - `delivered`: the spool submitted it and the server applied it;
 * - `held`: the server already holds the record or a newer one (the broadcast reached
 *   it, or a sidecar brought it);
 * - `expired`: past report-ttl (reports) or node-purge-ttl (every command): PuppetDB
 *   has dropped, or would drop, what it names, and nothing expired comes back.
 */
export type SettleReason = 'delivered' | 'held' | 'expired';

/** What the delivery and `spool replay` ask of the journal. */
export interface JournalAccess {
  /** Commands still pending for `server`, journaled before `receivedBefore`, oldest first, at most `limit`. */
  due(server: string, receivedBefore: number, limit: number): JournaledCommand[];
  /** The command is no longer pending for `server`; once pending for none, it is kept only for replay. */
  settle(id: number, server: string, reason: SettleReason): void;
  /** Every journaled command (pending or not) journaled at or after `receivedFrom`, with an id above `afterId`, in id order, at most `limit`. */
  since(receivedFrom: number, afterId: number, limit: number): JournaledCommand[];
}

/** Told of every delivery decision, for the metrics and /health. */
export interface DeliveryObserver {
  settled(server: string, command: string, reason: SettleReason): void;
  /** A lookup or a submission to `server` failed; the command stays pending and is tried again later. */
  failed(server: string, error: unknown): void;
}
