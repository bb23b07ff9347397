import { SyncError, type ErrorCode } from '../errors.ts';
import { readTimestamp } from './timestamps.ts';

/** A timestamp as its text plus its milliseconds since the epoch. */
export interface Timestamp {
  readonly text: string;
  readonly ms: number;
}

/**
 * Field readers that name what is wrong, for summary rows and other query rows. They
 * read what a PuppetDB can answer, odd values included (a year past 9999), so that a
 * row stored by mistake can still be compared; RecordReader is the strict reader of
 * what becomes a command.
 */
export class FieldReader {
  protected readonly code: ErrorCode;
  protected readonly what: string;
  private readonly object: Record<string, unknown>;

  constructor(value: unknown, code: ErrorCode, what: string) {
    this.code = code;
    this.what = what;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.fail('is not an object');
    this.object = value as Record<string, unknown>;
  }

  string(field: string): string {
    const value = this.object[field];
    if (typeof value !== 'string') throw this.fail(`${field} is not a string`);
    return this.text(field, value);
  }

  optionalString(field: string): string | null {
    const value = this.object[field];
    return value === null || value === undefined ? null : this.string(field);
  }

  timestamp(field: string): Timestamp {
    const text = this.string(field);
    const ms = readTimestamp(text);
    if (ms === undefined) throw this.fail(`${field} is not an ISO 8601 timestamp: ${quoted(text)}`);
    return { text, ms };
  }

  optionalTimestamp(field: string): Timestamp | null {
    const value = this.object[field];
    return value === null || value === undefined ? null : this.timestamp(field);
  }

  raw(field: string): unknown {
    return this.object[field];
  }

  fail(problem: string): SyncError {
    return new SyncError(this.code, `${this.what}: ${problem}`);
  }

  /** Every string read goes through here: a stricter reader refuses some. */
  protected text(_field: string, value: string): string {
    return value;
  }
}

const QUOTED_LENGTH = 100;

/**
 * A value for a one-line message: JSON-quoted, anything but printable ASCII escaped
 * (a newline, ESC or a right-to-left override must not reshape the log line), cut
 * short.
 */
export function quoted(value: string): string {
  const cut = value.length > QUOTED_LENGTH ? `${value.slice(0, QUOTED_LENGTH)}...` : value;
  return JSON.stringify(cut).replace(/[^\x20-\x7e]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
