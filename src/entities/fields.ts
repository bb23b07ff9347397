import { SyncError, type ErrorCode } from '../errors.ts';

/** Field readers that name what is wrong, for summaries and records from a remote. */
export class FieldReader {
  private readonly code: ErrorCode;
  private readonly what: string;
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
    return value;
  }

  optionalString(field: string): string | null {
    const value = this.object[field];
    if (value === null || value === undefined) return null;
    if (typeof value !== 'string') throw this.fail(`${field} is not a string`);
    return value;
  }

  /** A timestamp as text plus its milliseconds since the epoch. */
  timestamp(field: string): { text: string; ms: number } {
    const text = this.string(field);
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) throw this.fail(`${field} is not a timestamp: ${text}`);
    return { text, ms };
  }

  optionalTimestamp(field: string): { text: string; ms: number } | null {
    return this.object[field] === null || this.object[field] === undefined ? null : this.timestamp(field);
  }

  raw(field: string): unknown {
    return this.object[field];
  }

  fail(problem: string): SyncError {
    return new SyncError(this.code, `${this.what}: ${problem}`);
  }
}
