import { SyncError } from '../errors.ts';
import { FieldReader, quoted, type Timestamp } from './fields.ts';
import { describeInstant, readSubmittableTimestamp } from './timestamps.ts';

/** An integer range a PostgreSQL column holds. */
export interface IntegerRange {
  readonly min: number;
  readonly max: number;
}

/** `integer` columns: resource and log line numbers. */
export const INT32: IntegerRange = { min: -(2 ** 31), max: 2 ** 31 - 1 };
/** `smallint` columns: a report's report_format. */
export const INT16: IntegerRange = { min: -(2 ** 15), max: 2 ** 15 - 1 };

/**
 * Puppet's rule for a certname: printable ASCII but "/" (VALID_CERTNAME,
 * /\A[ -.0-~]+\Z/, in lib/puppet/x509/cert_provider.rb and lib/puppet/ssl/base.rb),
 * and no upper case (the certname setting's hook in lib/puppet/defaults.rb: "Certificate
 * names must be lower case"). Ruby's \Z also passes a final newline; this does not.
 * PuppetDB itself takes any string but a blank one, so it stores a newline, an ESC or
 * a right-to-left override that no Puppet agent can have.
 */
const PUPPET_CERTNAME = /^[ -.0-~]+$/;

/** Strings PostgreSQL cannot store as sent: NUL (PuppetDB rewrites it to U+FFFD in JSON, text columns refuse it) and lone UTF-16 surrogates (no UTF-8). */
const UNSTORABLE = /[\0\p{Cs}]/u;

/**
 * The strict reader of a remote record that becomes a command: every field as
 * PuppetDB accepts it and gives it back unchanged. A record of the wrong shape fails
 * with PDBSYNC_ERR_RECORD_MALFORMED; one holding a value PuppetDB would refuse or
 * store changed fails with PDBSYNC_ERR_RECORD_INVALID; one that is not the record its
 * summary row names fails with PDBSYNC_ERR_RECORD_MISMATCH.
 */
export class RecordReader extends FieldReader {
  constructor(value: unknown, what: string) {
    super(value, 'PDBSYNC_ERR_RECORD_MALFORMED', what);
  }

  certname(field = 'certname'): string {
    const name = this.string(field);
    if (!PUPPET_CERTNAME.test(name)) throw this.invalid(`${field} ${quoted(name)} is not printable ASCII without "/", as Puppet requires of a certname`);
    if (/[A-Z]/.test(name)) throw this.invalid(`${field} ${quoted(name)} has upper case, which Puppet refuses in a certname`);
    if (name.trim() === '') throw this.invalid(`${field} is blank`);
    return name;
  }

  /** Strict ISO 8601 within the years PuppetDB gives back unchanged (timestamps.ts). */
  override timestamp(field: string): Timestamp {
    const text = this.string(field);
    const read = readSubmittableTimestamp(text);
    if ('problem' in read) throw this.invalid(`${field} ${quoted(text)} ${read.problem}`);
    return { text, ms: read.ms };
  }

  boolean(field: string): boolean {
    const value = this.raw(field);
    if (typeof value !== 'boolean') throw this.fail(`${field} is not a boolean`);
    return value;
  }

  optionalBoolean(field: string): boolean | null {
    const value = this.raw(field);
    return value === null || value === undefined ? null : this.boolean(field);
  }

  integer(field: string, range: IntegerRange): number {
    const value = this.raw(field);
    if (typeof value !== 'number' || !Number.isInteger(value)) throw this.fail(`${field} is not an integer`);
    if (value < range.min || value > range.max) throw this.invalid(`${field} ${value} is outside ${range.min}..${range.max}, what PostgreSQL stores`);
    return value;
  }

  optionalInteger(field: string, range: IntegerRange): number | null {
    const value = this.raw(field);
    return value === null || value === undefined ? null : this.integer(field, range);
  }

  /**
   * A JSON number, as parsed (a JS number, or its exact text for one a JS number would
   * print otherwise): finite, as PuppetDB's parser reads 1e400 as Infinity, which no
   * JSON holds.
   */
  number(field: string): unknown {
    const value = this.raw(field);
    if (typeof value === 'number') return value;
    if (!JSON.isRawJSON(value)) throw this.fail(`${field} is not a number`);
    const text = JSON.stringify(value);
    if (!Number.isFinite(Number(text))) throw this.invalid(`${field} ${text} is out of a double's range`);
    return value;
  }

  /**
   * A free-form JSON value of the record (a fact's value, a resource's parameters, an
   * event's old and new values), checked whole: every string and key storable, and
   * every number one PuppetDB gives back unchanged (not past a double's range, which
   * it would store as "Infinity").
   */
  freeForm(field: string, value: unknown): unknown {
    if (typeof value === 'string') this.text(field, value);
    else if (JSON.isRawJSON(value)) {
      const text = JSON.stringify(value);
      if (!Number.isFinite(Number(text))) throw this.invalid(`${field} holds ${text}, out of a double's range`);
    } else if (Array.isArray(value)) for (const item of value) this.freeForm(field, item);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        this.text(field, key);
        this.freeForm(field, item);
      }
    }
    return value;
  }

  stringArray(field: string): string[] {
    const value = this.raw(field);
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw this.fail(`${field} is not an array of strings`);
    for (const item of value) this.text(field, item);
    return value;
  }

  /**
   * The elements of an expanded field (`{ data, href }`): PuppetDB answers data: null
   * when there are none (a catalog without edges, a report without events).
   */
  expandedData(field: string): unknown[] {
    const expanded = this.raw(field);
    if (typeof expanded !== 'object' || expanded === null || !('data' in expanded)) throw this.fail(`${field} is not expanded`);
    const { data } = expanded as { data: unknown };
    if (data === null) return [];
    if (!Array.isArray(data)) throw this.fail(`${field}.data is not an array`);
    return data;
  }

  /**
   * Checks that the record is the one its summary row names: the diff chose the row
   * by these values, and a record fetched since it changed (or a faulty server) would
   * otherwise be submitted in its place. Times compare in milliseconds, as rows do.
   */
  matchesRow(field: string, inRecord: string | Timestamp, inRow: string | number): void {
    const same = typeof inRecord === 'string' ? inRecord === inRow : inRecord.ms === inRow;
    if (same) return;
    const recordText = typeof inRecord === 'string' ? inRecord : inRecord.text;
    const rowText = typeof inRow === 'string' ? inRow : describeInstant(inRow);
    throw new SyncError('PDBSYNC_ERR_RECORD_MISMATCH', `${this.what}: ${field} is ${quoted(recordText)}, its summary row's is ${quoted(rowText)}`);
  }

  invalid(problem: string): SyncError {
    return new SyncError('PDBSYNC_ERR_RECORD_INVALID', `${this.what}: ${problem}`);
  }

  /** A string of the record, read or not through a field: refused when PostgreSQL cannot store it as it is. */
  override text(field: string, value: string): string {
    if (UNSTORABLE.test(value)) throw this.invalid(`${field} holds a NUL or a lone UTF-16 surrogate, which PostgreSQL cannot store`);
    return value;
  }
}
