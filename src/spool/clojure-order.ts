/**
 * The order in which Clojure lists the elements of a small set of strings: PuppetDB
 * names missing and unknown command parameters by joining such a set, so the spool
 * must list them in the same order to answer with the same message. A Clojure hash
 * set is a hash array mapped trie keyed by Murmur3 of Java's String.hashCode, five
 * bits a level from the lowest: iterating it visits the elements in the order of
 * those five-bit chunks, lowest chunk first.
 */

/** Java's String.hashCode: 31-polynomial over UTF-16 code units, as a 32-bit int. */
function javaStringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

const rotl = (x: number, r: number): number => (x << r) | (x >>> (32 - r));

/** clojure.lang.Murmur3.hashInt, which Clojure's hasheq applies to a string's hashCode. */
function murmur3HashInt(input: number): number {
  if (input === 0) return 0;
  let k1 = Math.imul(input, 0xcc9e2d51);
  k1 = rotl(k1, 15);
  k1 = Math.imul(k1, 0x1b873593);
  let h1 = k1;
  h1 = rotl(h1, 13);
  h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
  h1 ^= 4;
  h1 ^= h1 >>> 16;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h1 = Math.imul(h1, 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  return h1;
}

/** The hash's five-bit chunks from the lowest: the trie's index at each level. */
function trieIndexes(text: string): number[] {
  const hash = murmur3HashInt(javaStringHash(text)) >>> 0;
  return Array.from({ length: 7 }, (_, level) => Math.floor(hash / 2 ** (5 * level)) % 32);
}

/** `names` (distinct) in the order `(seq (set names))` gives them in Clojure. */
export function clojureSetOrder(names: readonly string[]): string[] {
  const keyed = names.map((name) => ({ name, indexes: trieIndexes(name) }));
  keyed.sort((a, b) => {
    for (let level = 0; level < a.indexes.length; level++) {
      const difference = a.indexes[level]! - b.indexes[level]!;
      if (difference !== 0) return difference;
    }
    return 0;
  });
  return keyed.map((entry) => entry.name);
}
