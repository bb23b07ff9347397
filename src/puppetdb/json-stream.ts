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
    /** Whether `value` was made by JSON.rawJSON: a number kept as its exact text. */
    isRawJSON(value: unknown): boolean;
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
 * How deep arrays and objects may nest within one element. Deeper nesting is no
 * PuppetDB data: it rejects commands nested past 1000 levels (Jackson's limit), and
 * 7.12.1 shut itself down on a StackOverflowError storing a fact nested 900 deep
 * (800 was stored; seen). Past the limit every recursive step after the scan (the
 * reviver that keeps numbers exact, JSON.stringify of a command) could overflow the
 * stack; real facts, parameters and event values nest a few levels.
 */
export const MAX_NESTING = 100;

/** Where the elements of a top-level JSON array end, byte by byte, across chunks. */
class ElementScanner {
  private opened = false;
  private closed = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private afterComma = false;
  private digits = 0;
  private previous = 0;
  private previousButOne = 0;
  /** Inside an element; it began at `start` of the current chunk, or in an earlier one. */
  inElement = false;
  start = 0;
  /** Whether the element being read, or the one just ended, has a number to keep exact. */
  needsExact = false;
  elementsEnded = 0;
  private readonly malformed: (detail: string) => Error;

  constructor(malformed: (detail: string) => Error) {
    this.malformed = malformed;
  }

  get complete(): boolean {
    return this.closed;
  }

  /**
   * Scans `chunk` from `from`: the index of the ',' or ']' that ends an element (the
   * element is chunk[start..index), plus earlier chunks' bytes), or -1 at the end of
   * the chunk. A plain loop in a method, not in the async generator, so V8 optimizes it.
   */
  scan(chunk: Buffer, from: number): number {
    for (let i = from; i < chunk.length; i++) {
      if (this.inString) {
        i = this.skipString(chunk, i);
        continue;
      }
      const byte = chunk[i]!;
      if (isDigit(byte)) {
        if (++this.digits >= UNSAFE_DIGITS) this.needsExact = true;
      } else {
        if (this.digits > 0 && isFractionOrExponent(byte)) this.needsExact = true;
        // "-0" prints back as "0".
        if (this.digits === 1 && this.previous === ZERO && this.previousButOne === MINUS) this.needsExact = true;
        this.digits = 0;
      }
      this.previousButOne = this.previous;
      this.previous = byte;
      if (isSpace(byte)) continue;
      if (this.closed) throw this.malformed('more after the end of the array');
      if (!this.opened) {
        if (byte !== OPEN_ARRAY) throw this.malformed(`expected a JSON array, got ${String.fromCharCode(byte)}`);
        this.opened = true;
        this.depth = 1;
        continue;
      }
      if (this.depth === 1 && (byte === COMMA || byte === CLOSE_ARRAY)) {
        const ended = this.inElement;
        if (!ended && (byte === COMMA || this.afterComma)) {
          throw this.malformed(`an element is missing before a ${String.fromCharCode(byte)}`);
        }
        this.afterComma = byte === COMMA;
        if (byte === CLOSE_ARRAY) {
          this.closed = true;
          this.depth = 0;
        }
        if (ended) {
          this.inElement = false;
          this.elementsEnded++;
          return i;
        }
        continue;
      }
      if (this.depth === 1 && !this.inElement) {
        if (this.elementsEnded > 0 && !this.afterComma) throw this.malformed(`a comma is missing after element ${this.elementsEnded}`);
        this.inElement = true;
        this.start = i;
        this.needsExact = false;
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
        // depth counts the response's own array too.
        if (++this.depth - 1 > MAX_NESTING) throw this.malformed(`element ${this.elementsEnded + 1} is nested deeper than ${MAX_NESTING} levels`);
      } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) this.depth--;
    }
    return -1;
  }

  /**
   * Inside a string at `from`: the index of its closing quote (the string has ended),
   * or the chunk's last index (it goes on). Jumps from quote to quote with indexOf; a
   * quote after an odd run of backslashes is escaped.
   */
  private skipString(chunk: Buffer, from: number): number {
    let i = from;
    if (this.escaped) {
      this.escaped = false;
      i++;
    }
    for (;;) {
      const quote = chunk.indexOf(QUOTE, i);
      const end = quote < 0 ? chunk.length : quote;
      let backslashes = 0;
      while (end - backslashes - 1 >= i && chunk[end - backslashes - 1] === BACKSLASH) backslashes++;
      if (quote < 0) {
        this.escaped = backslashes % 2 === 1;
        return chunk.length - 1;
      }
      if (backslashes % 2 === 0) {
        this.inString = false;
        return quote;
      }
      i = quote + 1;
    }
  }
}

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
  const scanner = new ElementScanner(malformed);
  let bytes = 0;
  /** Bytes of the element being read from earlier chunks. */
  let parts: Buffer[] = [];

  const parse = (chunk: Buffer, end: number): unknown => {
    let text: string;
    if (parts.length === 0) text = chunk.toString('utf8', scanner.start, end);
    else {
      parts.push(chunk.subarray(0, end));
      text = Buffer.concat(parts).toString('utf8');
      parts = [];
    }
    try {
      return scanner.needsExact ? JSON.parse(text, exactNumbers) : JSON.parse(text);
    } catch (error) {
      throw malformed(`element ${scanner.elementsEnded} is not valid JSON: ${(error as Error).message}`);
    }
  };

  for await (const received of body) {
    const chunk = Buffer.isBuffer(received) ? received : Buffer.from(received);
    // Counted before scanning, so an oversized record fails before it is parsed.
    bytes += chunk.length;
    if (bytes > maxBytes) throw new SyncError('PDBSYNC_ERR_RECORD_TOO_LARGE', `${what}: more than ${maxBytes} bytes`);
    // An element begun in an earlier chunk goes on from this chunk's first byte.
    scanner.start = 0;
    for (let end = scanner.scan(chunk, 0); end >= 0; end = scanner.scan(chunk, end + 1)) {
      yield parse(chunk, end);
    }
    if (scanner.inElement) parts.push(chunk.subarray(scanner.start));
  }
  if (!scanner.complete) throw malformed(`the JSON array is incomplete after ${bytes} bytes`);
}
