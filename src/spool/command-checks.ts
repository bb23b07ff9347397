/**
 * What PuppetDB 7.12.1 and 8.x answer to a command (their http/command.clj,
 * middleware.clj and command/constants.clj), as pure decisions, so the spool answers
 * the terminus exactly as a PuppetDB would:
 * - refusals (4xx, the same status, body and content type; PuppetDB 8's where 7.12.1
 *   differs, checked against 8.8.1 by test/integration/spool-answers.test.ts), in
 *   PuppetDB's order:
 *   413 by the length headers, 415 encoding, 415 content type, 406 Accept, then the
 *   old format's body and the parameters (400);
 * - commands PuppetDB accepts with 200 and then sends to its dead-letter office (a
 *   body that is not JSON, a version newer than it supports, a payload without a
 *   certname or a producer timestamp): the same 200, not journaled;
 * - the rest: what to journal. A payload whose certname differs from the parameter is
 *   applied by PuppetDB (8.8.1, under the payload's certname: the parameter only names
 *   its queue file), so the spool journals it under the payload's.
 * The checksum parameter is accepted and not checked, as PuppetDB's is ("vestigial").
 */

import type { JournaledCommand } from './spool-types.ts';
import { clojureSetOrder } from './clojure-order.ts';

/** Why a command was refused or discarded: the `reason` label of pdbsync_spool_refused_total. */
export type RefusedReason =
  | 'too-large'
  | 'content-encoding'
  | 'content-type'
  | 'not-acceptable'
  | 'old-format'
  | 'missing-parameters'
  | 'invalid-parameters'
  | 'certname'
  | 'unknown-command'
  | 'version'
  | 'retired-version'
  | 'not-json'
  | 'unsupported-version'
  | 'no-certname'
  | 'no-producer-timestamp';

/** An answer other than 200: PuppetDB's status, body and content type. */
export interface Refusal {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly reason: RefusedReason;
}

/** Accepted with 200 and a uuid, as PuppetDB accepts it, but never applied: not journaled. */
export interface Discard {
  readonly discard: RefusedReason;
}

/** The parameters of a command that passed PuppetDB's checks. */
export interface ValidParams {
  /** As the command API names it: `replace_facts`. */
  readonly command: string;
  readonly version: number;
  readonly certname: string;
  readonly producerTimestamp: string | undefined;
}

export const JSON_TYPE = 'application/json;charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

/** Supported versions of each command, oldest to newest (7.12.1 and 8.x agree); below the oldest is retired (400), above the newest is dead-lettered. */
export const COMMAND_VERSIONS: ReadonlyMap<string, { readonly min: number; readonly max: number }> = new Map([
  ['configure expiration', { min: 1, max: 1 }],
  ['replace catalog', { min: 6, max: 9 }],
  ['replace catalog inputs', { min: 1, max: 1 }],
  ['replace facts', { min: 4, max: 5 }],
  ['store report', { min: 5, max: 8 }],
  ['deactivate node', { min: 3, max: 3 }],
]);

const VALID_COMMANDS = [...COMMAND_VERSIONS.keys()].sort().join(', ');
const VALID_PARAMS = new Set(['checksum', 'secondsToWaitForCompletion', 'certname', 'command', 'version', 'producer-timestamp']);
const REQUIRED_PARAMS = ['certname', 'version', 'command'];
const ENCODINGS = new Set(['gzip', 'identity']);

/** PuppetDB's bad-request-response: JSON pretty-printed by cheshire. */
function badRequest(reason: RefusedReason, message: string): Refusal {
  return { status: 400, contentType: JSON_TYPE, body: prettyJson({ error: message }), reason };
}

function textError(status: number, reason: RefusedReason, message: string): Refusal {
  return { status, contentType: TEXT_TYPE, body: message, reason };
}

/** cheshire's generate-pretty-string of a flat object of strings: `{\n  "key" : "value"\n}`. */
export function prettyJson(object: Readonly<Record<string, string>>): string {
  const fields = Object.entries(object).map(([key, value]) => `  ${JSON.stringify(key)} : ${JSON.stringify(value)}`);
  return `{\n${fields.join(',\n')}\n}`;
}

/** Clojure's pr-str of a parameter: a string quoted and escaped, nil, a number, a vector of them. */
export function prStr(value: unknown): string {
  if (value === undefined || value === null) return 'nil';
  if (typeof value === 'string') {
    const escaped = value.replace(/[\\"\n\t\r\f\b]/g, (c) => ({ '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t', '\r': '\\r', '\f': '\\f', '\b': '\\b' })[c]!);
    return `"${escaped}"`;
  }
  if (Array.isArray(value)) return `[${value.map(prStr).join(' ')}]`;
  if (typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${prStr(k)} ${prStr(v)}`).join(', ')}}`;
  return String(value);
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;
const header = (headers: Headers, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** Java's Long.parseLong of a header: digits with an optional sign, else undefined (PuppetDB logs and ignores it). */
function parseLength(text: string | undefined): number | undefined {
  return text !== undefined && /^[+-]?\d{1,18}$/.test(text) ? Number(text) : undefined;
}

/**
 * The checks made before the body is read: its announced size, encoding and type,
 * and the Accept header. The type and Accept are answered as PuppetDB 8 answers
 * (7.12.1 said the same in text/plain: "content type X not supported", "must accept
 * application/json"); the terminus sends neither wrong. `path` is the request's, as
 * PuppetDB 8 names it.
 */
export function checkHeaders(method: string, path: string, headers: Headers, maxCommandBytes: number): Refusal | undefined {
  if (method === 'GET' || method === 'HEAD') return undefined;
  const length = parseLength(header(headers, 'x-uncompressed-length')) ?? parseLength(header(headers, 'content-length'));
  if (length !== undefined && length > maxCommandBytes) return textError(413, 'too-large', 'Command rejected due to size exceeding max-command-size');
  const encoding = header(headers, 'content-encoding');
  if (encoding !== undefined && encoding !== '' && !ENCODINGS.has(encoding)) {
    return textError(415, 'content-encoding', `content encoding ${encoding} not supported`);
  }
  const contentType = header(headers, 'content-type');
  const mediaType = contentType === undefined ? undefined : contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType !== undefined && mediaType !== 'application/json') {
    return kindError(415, 'content-type', 'unsupported-type', `content-type ${mediaType} is not a supported type for request of type :${method.toLowerCase()} at ${path}`);
  }
  const accept = header(headers, 'accept');
  if (accept !== undefined) {
    const types = new Set(accept.split(',').map((type) => type.trim()));
    if (!types.has('*/*') && !types.has('application/*') && !types.has('application/json')) return kindError(406, 'not-acceptable', 'not-acceptable', 'accept header must include application/json');
  }
  return undefined;
}

/** PuppetDB 8's answer from Puppet's ring middleware (its content type and Accept checks): compact JSON of kind and msg. */
function kindError(status: number, reason: RefusedReason, kind: string, msg: string): Refusal {
  return { status, contentType: JSON_TYPE, body: JSON.stringify({ kind, msg }), reason };
}

/** The command's parameters and the payload's bytes: from the query (new format) or from the body (old format). */
export interface CommandParts {
  readonly params: Readonly<Record<string, unknown>>;
  /** The body as received (new format), or the old format's payload re-encoded (identity). */
  readonly payload: Buffer;
  readonly oldFormat: boolean;
}

/**
 * PuppetDB's request normalisation: with a `command` parameter the query holds the
 * parameters (the command's underscores made spaces, the version read as an integer
 * when it is one); without, the body is `{command, version, payload}` (old format).
 */
export function commandParts(query: Readonly<Record<string, string | string[] | undefined>>, body: Buffer): CommandParts | Refusal {
  if (query['command'] !== undefined) {
    const params: Record<string, unknown> = { ...query };
    const command = query['command'];
    params['command'] = Array.isArray(command) ? command : command.replaceAll('_', ' ');
    // Always present, as PuppetDB's update-in makes it: a missing version is "not a valid integer", not missing.
    const version = query['version'];
    params['version'] = typeof version === 'string' && /^[+-]?\d+$/.test(version) && Math.abs(Number(version)) <= 2 ** 31 - 1 ? Number(version) : (version ?? null);
    return { params, payload: body, oldFormat: false };
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(body.toString('utf8'));
  } catch {
    decoded = {};
  }
  const fields = decoded !== null && typeof decoded === 'object' && !Array.isArray(decoded) ? (decoded as Record<string, unknown>) : {};
  const { command, version, payload } = fields;
  const isMap = payload !== null && typeof payload === 'object' && !Array.isArray(payload);
  const certname = isMap ? (payload as Record<string, unknown>)['certname'] : undefined;
  const truthy = (value: unknown) => value !== undefined && value !== null && value !== false;
  const invalid = `Command ${prStr(command)} for certname ${prStr(certname)} is invalid. Command was submitted without query parameters (old format).`;
  if (!truthy(command) || !truthy(version) || !truthy(payload)) {
    return badRequest('old-format', `${invalid} The request body must be a JSON map with required keys: command, version, payload.`);
  }
  if (!isMap) return badRequest('old-format', `${invalid} The payload value must be a JSON map.`);
  const params = Object.fromEntries(Object.entries({ ...fields, certname }).filter(([key, value]) => key !== 'payload' && value !== null && value !== undefined));
  return { params, payload: Buffer.from(JSON.stringify(payload)), oldFormat: true };
}

/** PuppetDB's parameter validation, in its order. */
export function checkParams(params: Readonly<Record<string, unknown>>): ValidParams | Refusal {
  const { command, version, certname } = params;
  const invalid = `Command ${prStr(command)} for certname ${prStr(certname)} is invalid.`;
  const given = Object.keys(params);
  const missing = REQUIRED_PARAMS.filter((name) => !given.includes(name));
  if (missing.length > 0) return badRequest('missing-parameters', `${invalid} Command is missing required parameters: ${clojureSetOrder(missing).join(', ')}.`);
  const unknown = given.filter((name) => !VALID_PARAMS.has(name));
  if (unknown.length > 0) return badRequest('invalid-parameters', `${invalid} Command has invalid parameters: ${clojureSetOrder(unknown).join(', ')}.`);
  if (typeof certname !== 'string' || certname.trim() === '') return badRequest('certname', `${invalid} Certname must be a non-empty string.`);
  const versions = typeof command === 'string' ? COMMAND_VERSIONS.get(command) : undefined;
  if (versions === undefined) return badRequest('unknown-command', `${invalid} Command must be one of: ${VALID_COMMANDS}.`);
  if (typeof version !== 'number' || !Number.isSafeInteger(version)) return badRequest('version', `${invalid} Version must be a valid integer.`);
  if (version < versions.min) {
    return badRequest('retired-version', `${invalid} Version ${version} of command ${prStr(command)} is retired. The minimum supported version is ${versions.min}.`);
  }
  const producerTimestamp = params['producer-timestamp'];
  return {
    command: (command as string).replaceAll(' ', '_'),
    version,
    certname,
    producerTimestamp: typeof producerTimestamp === 'string' && producerTimestamp !== '' ? producerTimestamp : undefined,
  };
}

/**
 * What PuppetDB's command processing would do with the payload (its JSON text, or
 * undefined when it could not be read): dead-letter it (Discard), or apply it, which
 * the spool journals under the payload's certname with this producer timestamp.
 */
export function checkPayload(params: ValidParams, payloadText: string | undefined): Discard | { readonly certname: string; readonly producerTimestamp: string } {
  const versions = COMMAND_VERSIONS.get(params.command.replaceAll('_', ' '))!;
  if (params.version > versions.max) return { discard: 'unsupported-version' };
  let payload: unknown;
  try {
    payload = payloadText === undefined ? undefined : JSON.parse(payloadText);
  } catch {
    payload = undefined;
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return { discard: 'not-json' };
  const fields = payload as Record<string, unknown>;
  const certname = fields['certname'];
  if (typeof certname !== 'string' || certname === '') return { discard: 'no-certname' };
  const producerTimestamp = params.producerTimestamp ?? fields['producer_timestamp'];
  if (typeof producerTimestamp !== 'string' || producerTimestamp === '') return { discard: 'no-producer-timestamp' };
  return { certname, producerTimestamp };
}

/** What the API journals: NewCommand of journal.ts. */
export type CommandToJournal = Omit<JournaledCommand, 'id' | 'uuid' | 'receivedAt'>;

export function isRefusal(value: object): value is Refusal {
  return 'status' in value;
}
