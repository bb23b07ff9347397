/**
 * ISO 8601 timestamps as PuppetDB reads and writes them, without Date.parse: it takes
 * "1", "March 7, 2024" and "2024-02-30" (as March 1st), and no year past 275760.
 *
 * What PuppetDB answers is always `YYYY-MM-DDTHH:MM:SS.sssZ`, but the year is the
 * PostgreSQL timestamptz's, printed with at least four digits and no sign: a stored
 * `+275760-09-13T00:00:00.000Z` comes back as `275760-09-13T00:00:00.000Z`, and a year
 * before 1 AD as a positive year (seen on PuppetDB 7.12.1). Summaries must still read
 * such a row, so `readTimestamp` takes any year.
 *
 * What the sidecar submits must come back as the same instant. PuppetDB parses a
 * command's times with java.time's ISO parsers (reports) or clj-time's (the rest), and
 * stores them through java.sql.Timestamp, whose calendar is Julian before the 1582
 * Gregorian reform while PostgreSQL's is Gregorian throughout: 1582-10-14T23:59:59.999Z
 * came back as 1582-10-04, 1000-01-01 as 0999-12-27, while 1582-10-15 came back
 * unchanged (seen on 7.12.1). Past 9999 the year needs a sign on the way in and has
 * none on the way out. So a submitted time must be, in UTC, within the four-digit
 * years after the reform: SUBMITTABLE_FROM to SUBMITTABLE_UNTIL.
 */

/** 1583-01-01T00:00:00.000Z: the first whole Gregorian year, whatever the server's time zone. */
export const SUBMITTABLE_FROM = Date.UTC(1583, 0, 1);
/** 9999-12-31T23:59:59.999Z: the last instant with a four-digit year. */
export const SUBMITTABLE_UNTIL = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Date and time, a fraction of any length, then Z or an offset with a colon; T and Z upper case, as PuppetDB answers. */
const ISO_8601 = /^([+-]?)(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:Z|([+-])(\d\d):(\d\d))$/;

const MS_PER_DAY = 86_400_000;
/** java.time's ZoneOffset refuses offsets beyond ±18:00. */
const MAX_OFFSET_MINUTES = 18 * 60;

interface ParsedTimestamp {
  readonly ms: number;
  /** Four digits, no sign: the form java.time's ISO parsers take without a sign. */
  readonly plainYear: boolean;
}

function parse(text: string): ParsedTimestamp | undefined {
  const match = ISO_8601.exec(text);
  if (!match) return undefined;
  const [, sign, yearText, monthText, dayText, hourText, minuteText, secondText, fraction, offsetSign, offsetHours, offsetMinutes] = match;
  const year = Number(yearText) * (sign === '-' ? -1 : 1);
  const [month, day, hour, minute, second] = [monthText, dayText, hourText, minuteText, secondText].map(Number) as [number, number, number, number, number];
  // No leap second, no 24:00: java.time's ISO parsers refuse both in a command.
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return undefined;
  let offset = 0;
  if (offsetSign !== undefined) {
    offset = Number(offsetHours) * 60 + Number(offsetMinutes);
    if (Number(offsetMinutes) > 59 || offset > MAX_OFFSET_MINUTES) return undefined;
    if (offsetSign === '-') offset = -offset;
  }
  // PostgreSQL keeps microseconds, PuppetDB answers milliseconds: the rest is cut off, not rounded.
  const millis = Number((fraction ?? '').padEnd(3, '0').slice(0, 3));
  const ms = daysFromCivil(year, month, day) * MS_PER_DAY + ((hour * 60 + minute - offset) * 60 + second) * 1000 + millis;
  return { ms, plainYear: sign === '' && yearText!.length === 4 };
}

/**
 * Milliseconds since the epoch of a timestamp as a PuppetDB may answer it (any year,
 * up to PostgreSQL's 294276), or undefined when it is no ISO 8601 date and time.
 */
export function readTimestamp(text: string): number | undefined {
  return parse(text)?.ms;
}

/**
 * The instant of a timestamp the sidecar may submit, or why not: strict ISO 8601 with
 * a four-digit year, within SUBMITTABLE_FROM..SUBMITTABLE_UNTIL once in UTC (an offset
 * can carry 9999-12-31T23:00:00-05:00 into year 10000).
 */
export function readSubmittableTimestamp(text: string): { ms: number } | { problem: string } {
  const parsed = parse(text);
  if (!parsed) return { problem: 'is not an ISO 8601 date and time' };
  if (!parsed.plainYear || !isSubmittable(parsed.ms)) return { problem: 'is outside 1583-01-01T00:00:00Z..9999-12-31T23:59:59.999Z, which PuppetDB does not give back unchanged' };
  return { ms: parsed.ms };
}

export function isSubmittable(ms: number): boolean {
  return ms >= SUBMITTABLE_FROM && ms <= SUBMITTABLE_UNTIL;
}

/** The largest distance from the epoch a JS Date holds: years -271821 to 275760. */
const DATE_LIMIT_MS = 8.64e15;

/** An instant as ISO 8601 for a message, whatever its year (toISOString throws past 275760). */
export function describeInstant(ms: number): string {
  return Math.abs(ms) <= DATE_LIMIT_MS ? new Date(ms).toISOString() : `${ms} ms since the epoch`;
}

/** 0001-01-01T00:00:00.000Z: the first instant with a four-digit year. */
const QUERY_FROM = Date.parse('0001-01-01T00:00:00.000Z');

/**
 * An instant as ISO 8601 for a query bound, brought within the four-digit years: a
 * row dated past them (PostgreSQL keeps years up to 294276, a JS Date up to 275760,
 * and toISOString writes year 10000 as "+010000") must not make a query throw or
 * carry a form PuppetDB may not parse. Only rows past 9999 are then selected
 * otherwise: an open-ended query still lists them, a bounded lookup may miss them,
 * and none of them is ever submitted.
 */
export function queryTimestamp(ms: number): string {
  return new Date(Math.min(SUBMITTABLE_UNTIL, Math.max(QUERY_FROM, ms))).toISOString();
}

function isLeapYear(year: number): boolean {
  return mod(year, 4) === 0 && (mod(year, 100) !== 0 || mod(year, 400) === 0);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/**
 * Days from 1970-01-01 to a date of the proleptic Gregorian calendar (as PostgreSQL
 * counts), for any year: Date.UTC stops at year 275760. H. Hinnant's days_from_civil.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
