import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// V8 exposes its collector only behind --expose-gc; set at start-up, a new context
// then has `gc`. This is the way Node.js's own documentation of setFlagsFromString shows.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * A full collection, for right after a large record's text was parsed: the text and
 * its bytes (tens of MB) are garbage then, and collecting them before the record is
 * converted and written out lets that reuse the space instead of growing the heap.
 */
export function collectGarbage(): void {
  gc();
}
