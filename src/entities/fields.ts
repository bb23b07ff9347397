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

  optionalBoolean(field: string): boolean | null {
    const value = this.object[field];
    if (value === null || value === undefined) return null;
    if (typeof value !== 'boolean') throw this.fail(`${field} is not a boolean`);
    return value;
  }

  optionalInteger(field: string): number | null {
    const value = this.object[field];
    if (value === null || value === undefined) return null;
    if (!Number.isInteger(value)) throw this.fail(`${field} is not an integer`);
    return value as number;
  }

  stringArray(field: string): string[] {
    const value = this.object[field];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw this.fail(`${field} is not an array of strings`);
    return value;
  }

  /**
   * The elements of an expanded field (`{ data, href }`): PuppetDB answers data: null
   * when there are none (a catalog without edges, a report without events).
   */
  expandedData(field: string): unknown[] {
    const expanded = this.object[field];
    if (typeof expanded !== 'object' || expanded === null || !('data' in expanded)) throw this.fail(`${field} is not expanded`);
    const { data } = expanded as { data: unknown };
    if (data === null) return [];
    if (!Array.isArray(data)) throw this.fail(`${field}.data is not an array`);
    return data;
  }

  raw(field: string): unknown {
    return this.object[field];
  }

  fail(problem: string): SyncError {
    return new SyncError(this.code, `${this.what}: ${problem}`);
  }
}
