import { createHash } from 'node:crypto';

/**
 * What a content tie compares: a sha256 of the content as canonical JSON. It is the
 * sidecar's own digest, the same on every sidecar for the same content, whatever hash
 * function each PuppetDB uses (the servers' hashes differ between PuppetDB versions).
 */
export function contentDigest(content: unknown): string {
  const hash = createHash('sha256');
  writeCanonicalJson(content, (text) => hash.update(text));
  return hash.digest('hex');
}

/** The canonical JSON text of `value` (see writeCanonicalJson). */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  writeCanonicalJson(value, (text) => parts.push(text));
  return parts.join('');
}

/** Text is handed on in pieces of about this many characters: a 20 MB catalog is neither one string nor millions of calls. */
const PIECE_CHARACTERS = 64 * 1024;

/**
 * JSON.stringify's text, but with the keys of every object in code-unit order, so that
 * equal content gives equal text whatever order a server's JSON had its keys in. A
 * number kept exact (JSON.rawJSON) is written as its raw text, as a command carries it:
 * `1.0` and `1` are different content to PuppetDB, which hashes the values it parsed.
 */
export function writeCanonicalJson(value: unknown, write: (text: string) => void): void {
  let piece = '';
  const out = (text: string) => {
    piece += text;
    if (piece.length >= PIECE_CHARACTERS) {
      write(piece);
      piece = '';
    }
  };
  writeValue(value, out);
  if (piece !== '') write(piece);
}

function writeValue(value: unknown, out: (text: string) => void): void {
  // Records nest at most MAX_NESTING (json-stream.ts) levels: recursion is safe.
  if (value === null || typeof value !== 'object' || JSON.isRawJSON(value)) {
    out(JSON.stringify(value) ?? 'null');
  } else if (Array.isArray(value)) {
    out('[');
    value.forEach((element: unknown, i) => {
      if (i > 0) out(',');
      writeValue(element, out);
    });
    out(']');
  } else {
    const members = value as Record<string, unknown>;
    let separator = '{';
    // As JSON.stringify does: a member without a JSON value is left out.
    for (const key of Object.keys(members).sort()) {
      const member = members[key];
      if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
      out(`${separator}${JSON.stringify(key)}:`);
      writeValue(member, out);
      separator = ',';
    }
    out(separator === '{' ? '{}' : '}');
  }
}
