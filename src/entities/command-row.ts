import type { Command } from '../puppetdb/command.ts';
import { FieldReader, type Timestamp } from './fields.ts';

/**
 * A command's payload read for its summary row (Entity.commandRow), when the command
 * is `name` in one of `versions`; undefined for any other command. A payload that is
 * not an object fails with PDBSYNC_ERR_RECORD_MALFORMED.
 */
export function commandPayload(command: Command, name: string, versions: readonly number[]): CommandPayload | undefined {
  if (command.command !== name || !versions.includes(command.version)) return undefined;
  return new CommandPayload(command);
}

export class CommandPayload extends FieldReader {
  private readonly command: Command;

  constructor(command: Command) {
    super(command.payload, 'PDBSYNC_ERR_RECORD_MALFORMED', `${command.command} v${command.version} for ${command.certname}`);
    this.command = command;
  }

  /** The payload's certname, which the command API checked against the request's. */
  certname(): string {
    return this.optionalString('certname') ?? this.command.certname;
  }

  /**
   * The time PuppetDB stores: the payload's producer_timestamp; the request's
   * producer-timestamp for a payload without one (older versions), which the spool
   * journaled from the payload when the request had none.
   */
  producerTimestamp(): Timestamp {
    if (this.raw('producer_timestamp') !== undefined && this.raw('producer_timestamp') !== null) return this.timestamp('producer_timestamp');
    return new FieldReader({ producer_timestamp: this.command.producerTimestamp }, 'PDBSYNC_ERR_RECORD_MALFORMED', `${this.command.command} request for ${this.command.certname}`).timestamp('producer_timestamp');
  }
}
