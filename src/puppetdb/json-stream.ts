import { SyncError } from '../errors.ts';

/**
 * Numbers keep their exact text when a JS number would not print the same way
 * ("1.0", "1e3", integers past 2^53). PuppetDB hashes a factset or catalog from the
 * values as it parsed them, so a fact value of 1.0 sent back as 1 changes the hash
 * and the record would be pulled again on every pass. JSON.rawJSON lets
 * JSON.stringify write the original text back.
 */
export function preserveNumber(lexeme: string): unknown {
  const value = Number(lexeme);
  return String(value) === lexeme ? value : JSON.rawJSON(lexeme);
}

declare global {
  interface JSON {
    /** Node 21+ (V8 11.4); not yet in TypeScript's lib. */
    rawJSON(text: string): unknown;
  }
}

const exactNumbers = (_key: string, value: unknown, context?: { source?: string }): unknown =>
  typeof value === 'number' && context?.source !== undefined ? preserveNumber(context.source) : value;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const isSpace = (byte: number): boolean => byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
const isDigit = (byte: number): boolean => byte >= 0x30 && byte <= 0x39;
/** '.', 'e' or 'E': after a digit and outside strings, only a number has them. */
const isFractionOrExponent = (byte: number): boolean => byte === 0x2e || byte === 0x65 || byte === 0x45;
const MINUS = 0x2d;
const ZERO = 0x30;
/** Integers of 16 digits or more may lie past 2^53 (9007199254740992). */
const UNSAFE_DIGITS = 16;

/**
 * Yields the elements of a top-level JSON array as they arrive, holding only the
 * bytes of the element being read: PuppetDB answers every query with one array, and
 * a summary of 100,000 nodes or a 20 MB catalog must not be buffered whole.
 *
 * The bytes are only scanned for where each element ends (strings, escapes and
 * nesting; no byte of a multi-byte UTF-8 character is ASCII, so splitting bytes is
 * safe) and each element is parsed by JSON.parse, which checks it. That is about 5
 * times faster than a token-by-token parser and leaves far less garbage. The scan
 * also notes numbers a JS number would not print back the same way; only an
 * element with one is parsed with a reviver (exactNumbers), which costs about
 * three times the time and holds the source of every value while it parses.
 */
export async function* streamJsonArray(
  body: AsyncIterable<Uint8Array | string>,
  what: string,
  maxBytes = Number.POSITIVE_INFINITY,
): AsyncGenerator<unknown> {
  const malformed = (detail: string) => new SyncError('PDBSYNC_ERR_RESPONSE_MALFORMED', `${what}: ${detail}`);
  let bytes = 0;
  let opened = false;
  let closed = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** Bytes of the element being read from earlier chunks. */
  let parts: Uint8Array[] = [];
  let inElement = false;
  let afterComma = false;
  let elementsEnded = 0;
  let needsExact = false;
  let digits = 0;
  let previous = 0;
  let previousButOne = 0;

  const parse = (chunk: Uint8Array, start: number, end: number): unknown => {
    parts.push(chunk.subarray(start, end));
    const text = Buffer.concat(parts).toString('utf8');
    parts = [];
    inElement = false;
    const exact = needsExact;
    needsExact = false;
    try {
      return exact ? JSON.parse(text, exactNumbers) : JSON.parse(text);
    } catch (error) {
      throw malformed(`element ${elementsEnded + 1} is not valid JSON: ${(error as Error).message}`);
    }
  };

  for await (const received of body) {
    const chunk = typeof received === 'string' ? Buffer.from(received) : received;
    // Counted before scanning, so an oversized record fails before it is parsed.
    bytes += chunk.length;
    if (bytes > maxBytes) throw new SyncError('PDBSYNC_ERR_RECORD_TOO_LARGE', `${what}: more than ${maxBytes} bytes`);
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) inString = false;
        continue;
      }
      if (isDigit(byte)) {
        if (++digits >= UNSAFE_DIGITS) needsExact = true;
      } else {
        if (digits > 0 && isFractionOrExponent(byte)) needsExact = true;
        // "-0" prints back as "0".
        if (digits === 1 && previous === ZERO && previousButOne === MINUS) needsExact = true;
        digits = 0;
      }
      previousButOne = previous;
      previous = byte;
      if (isSpace(byte)) continue;
      if (closed) throw malformed('more after the end of the array');
      if (!opened) {
        if (byte !== OPEN_ARRAY) throw malformed(`expected a JSON array, got ${String.fromCharCode(byte)}`);
        opened = true;
        depth = 1;
        continue;
      }
      if (depth === 1 && (byte === COMMA || byte === CLOSE_ARRAY)) {
        if (inElement) {
          yield parse(chunk, start, i);
          elementsEnded++;
          afterComma = false;
        } else if (byte === COMMA || afterComma) {
          throw malformed(`an element is missing before a ${String.fromCharCode(byte)}`);
        }
        if (byte === COMMA) afterComma = true;
        else {
          closed = true;
          depth = 0;
        }
        continue;
      }
      if (depth === 1 && !inElement) {
        if (elementsEnded > 0 && !afterComma) throw malformed(`a comma is missing after element ${elementsEnded}`);
        inElement = true;
        start = i;
      }
      if (byte === QUOTE) inString = true;
      else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) depth++;
      else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) depth--;
    }
    if (inElement) parts.push(chunk.subarray(start));
  }
  if (!closed) throw malformed(`the JSON array is incomplete after ${bytes} bytes`);
}
