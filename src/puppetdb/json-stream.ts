import type { Readable } from 'node:stream';
import chain, { none } from 'stream-chain';
import { parser } from 'stream-json';
import Assembler from 'stream-json/assembler.js';
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

class ExactNumberAssembler extends Assembler {
  override numberValue(lexeme: string): void {
    (this as unknown as { _saveValue(value: unknown): void })._saveValue(preserveNumber(lexeme));
  }
}

type Token = parser.Token;

declare global {
  interface JSON {
    /** Node 21+ (V8 11.4); not yet in TypeScript's lib. */
    rawJSON(text: string): unknown;
  }
}

/**
 * Yields the elements of a top-level JSON array as they arrive, holding only the
 * element being assembled: PuppetDB answers every query with one array, and a
 * summary of 100,000 nodes or a 20 MB catalog must not be buffered whole.
 */
export async function* streamJsonArray(body: Readable, what: string, maxBytes = Number.POSITIVE_INFINITY): AsyncGenerator<unknown> {
  const assembler = new ExactNumberAssembler();
  let bytes = 0;
  // Counted before parsing, so an oversized record fails before it is assembled.
  const limitBytes = (chunk: string): string => {
    bytes += Buffer.byteLength(chunk);
    if (bytes > maxBytes) throw new SyncError('PDBSYNC_ERR_RECORD_TOO_LARGE', `${what}: more than ${maxBytes} bytes`);
    return chunk;
  };
  let sawArray = false;
  const collectElements = (token: Token): unknown => {
    if (!sawArray) {
      if (token.name !== 'startArray') {
        throw new SyncError('PDBSYNC_ERR_RESPONSE_MALFORMED', `${what}: expected a JSON array, got ${token.name}`);
      }
      sawArray = true;
    }
    assembler.consume(token);
    if (assembler.depth === 1 && token.name !== 'startArray') {
      const current = assembler.current as unknown[];
      // Boxed: Node object streams end at null, and null is a valid element.
      if (current.length > 0) return { element: current.pop() };
    }
    return none;
  };
  // Decoded here so that a character split across two chunks stays whole.
  body.setEncoding('utf8');
  const pipeline = chain([body, limitBytes, parser({ packValues: true, streamValues: false }), collectElements]);
  try {
    for await (const box of pipeline) yield (box as { element: unknown }).element;
  } catch (error) {
    if (error instanceof SyncError) throw error;
    // The parser reports a response cut short as a syntax error at its end.
    throw new SyncError('PDBSYNC_ERR_RESPONSE_MALFORMED', `${what}: not complete JSON after ${bytes} bytes: ${(error as Error).message}`, { cause: error });
  } finally {
    pipeline.destroy();
  }
  if (!sawArray || assembler.depth !== 0) {
    throw new SyncError('PDBSYNC_ERR_RESPONSE_MALFORMED', `${what}: the JSON array is incomplete`);
  }
}
