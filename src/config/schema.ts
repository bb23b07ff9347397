/**
 * The configuration options, as data. load.ts validates against this table and
 * scripts/gen-docs.ts renders the reference table of docs/configuration.md
 * from it (a unit test keeps the two in step), so a new option is added here, once.
 *
 * Keys are dotted paths as written in the file; `[]` stands for every element of an
 * array (`sync.remotes[].interval`). Defaults are written as they would be in the
 * file ("2m", not 120000), so the docs show what a user types.
 *
 * Presence rules (applied by load.ts, documented in docs/configuration.md):
 * - a key not in this table is an error, at any depth;
 * - `required: true` means required whenever its parent object is present;
 * - an absent object is treated as `{}` (so its defaults apply and its required keys
 *   are reported as missing), except an optional object that has required keys of
 *   its own (`tls`), which is simply absent;
 * - `requiredWith` makes a key required when a sibling is given (the `http.ssl-*`
 *   keys, which sit among keys of plain http).
 */

import { SEED_OPTIONS } from './schema-seed.ts';
import { STATE_OPTIONS } from './schema-state.ts';
import { HTTP_TLS_OPTIONS, TLS_OPTIONS } from './schema-tls.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export const LOG_FORMATS = ['pe', 'ecs'] as const;

export type OptionType =
  | { readonly kind: 'object' }
  | { readonly kind: 'array'; readonly minItems: number }
  | { readonly kind: 'url' }
  | { readonly kind: 'duration'; readonly min: string }
  | { readonly kind: 'integer'; readonly min: number; readonly max: number }
  | { readonly kind: 'path' }
  | { readonly kind: 'host' }
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'boolean' }
  /** A non-empty string; `pattern` (a regular expression's source) and its wording, when it must match one. */
  | { readonly kind: 'string'; readonly pattern?: string; readonly describe?: string }
  /** A string never echoed in a message, nor kept where a log could reach it. */
  | { readonly kind: 'secret' };

export interface OptionSpec {
  /** Dotted path as written in the file; `[]` marks the elements of an array. */
  readonly key: string;
  readonly type: OptionType;
  readonly required: boolean;
  /** As written in the file; absent for required keys and for objects. */
  readonly default?: string | number;
  /** One line, for the docs. */
  readonly doc: string;
  /** Sibling keys (names within the same object): this key is required when any of them is given. */
  readonly requiredWith?: readonly string[];
  /** An object that is absent unless written, though none of its keys is required (`state`). */
  readonly absentUnlessWritten?: boolean;
}

export const OPTIONS: readonly OptionSpec[] = [
  {
    key: 'puppetdb',
    type: { kind: 'object' },
    required: false,
    doc: 'The PuppetDB this sidecar runs beside, as PuppetDB itself is configured.',
  },
  {
    key: 'puppetdb.conf-dir',
    type: { kind: 'path' },
    required: false,
    doc: 'PuppetDB\'s conf.d (e.g. /etc/puppetlabs/puppetdb/conf.d): its *.ini files give the defaults of local.server_url ([jetty] host and port), tls ([jetty] ssl-cert, ssl-key, ssl-ca-cert, ssl-crl-path), sync.remotes ([sync] server_urls and intervals) and state.database-ini (the file with [database]). Keys written here override them.',
  },
  {
    key: 'local',
    type: { kind: 'object' },
    required: false,
    doc: 'The PuppetDB server this sidecar runs beside: everything pulled from the remotes is submitted here.',
  },
  {
    key: 'local.server_url',
    type: { kind: 'url' },
    required: false,
    default: 'http://127.0.0.1:8080',
    doc: 'URL of the local PuppetDB (http or https, host and optional port, no path); by default PuppetDB\'s cleartext port on this host, as Puppet Enterprise\'s sync assumes.',
  },
  {
    key: 'sync',
    type: { kind: 'object' },
    required: true,
    doc: 'What to pull and how; the same block as Puppet Enterprise\'s PuppetDB `sync` config.',
  },
  {
    key: 'sync.remotes',
    type: { kind: 'array', minItems: 1 },
    required: true,
    doc: 'The PuppetDB servers to pull from; each is polled on its own interval.',
  },
  {
    key: 'sync.remotes[]',
    type: { kind: 'object' },
    required: true,
    doc: 'One remote.',
  },
  {
    key: 'sync.remotes[].server_url',
    type: { kind: 'url' },
    required: true,
    doc: 'URL of the remote PuppetDB; must differ from local.server_url and from every other remote.',
  },
  {
    key: 'sync.remotes[].interval',
    type: { kind: 'duration', min: '1ms' },
    required: false,
    default: '5s',
    doc: 'How often `run` starts a pass against this remote (start to start; a longer pass is followed at once); an incremental pass costs what changed, so seconds are cheap.',
  },
  {
    key: 'sync.node-purge-ttl',
    type: { kind: 'duration', min: '0s' },
    required: false,
    default: '14d',
    doc: 'Nodes deactivated or expired on a remote longer ago than this are not pulled; set it to the servers\' own node-purge-ttl.',
  },
  {
    key: 'sync.report-ttl',
    type: { kind: 'duration', min: '1ms' },
    required: false,
    default: '14d',
    doc: 'Reports older than this (by producer_timestamp) are not pulled; set it to the local PuppetDB\'s report-ttl.',
  },
  {
    key: 'sync.initial-report-threshold',
    type: { kind: 'duration', min: '0s' },
    required: false,
    default: '0s',
    doc: 'The first pass after start pulls only reports newer than this, later passes the rest (Puppet Enterprise\'s meaning); 0s pulls every report from the first pass.',
  },
  {
    key: 'sync.reconcile-interval',
    type: { kind: 'duration', min: '1s' },
    required: false,
    default: '1h',
    doc: '`run` compares everything each remote holds with the local server (an exact reconciliation) at start and then this often; beside it, a pass every `interval` reads only what the remote received since the previous one, while a reconciliation runs too.',
  },
  {
    key: 'sync.watermark-overlap',
    type: { kind: 'duration', min: '0s' },
    required: false,
    default: '5m',
    doc: 'Incremental passes read again what the remote received this long before the newest record already seen: PuppetDB stamps a record when it receives the command and stores it after the command waited in its queue.',
  },
  {
    key: 'sync.late-arrival-window',
    type: { kind: 'duration', min: '0s' },
    required: false,
    default: '1h',
    doc: 'Incremental passes see a report or a catalog input that reaches the remote up to this long after its producer_timestamp at every pass; later arrivals (relayed by a third server, or from a server catching up) at the next relay scan.',
  },
  {
    key: 'sync.relay-scan-interval',
    type: { kind: 'duration', min: '1s' },
    required: false,
    default: '1m',
    doc: 'An incremental pass at most this often also reads what the remote received since the last such scan whatever its producer_timestamp: records relayed through another server, however old, reach this one within it. Each scan reads every report partition the remote keeps (receive_time is not indexed).',
  },
  {
    key: 'sync.report-settle',
    type: { kind: 'duration', min: '0s' },
    required: false,
    default: '2m',
    doc: 'On a local PuppetDB with the duplicate-report race (8.7.0-8.8.1, OpenVoxDB before 8.12.0: docs/versions.md), a report is submitted only once the local command queue has been seen empty this long after the report\'s producer_timestamp: longer than Puppet Server\'s terminus takes to submit a report to every server (server_url_timeout, 30 s each).',
  },
  {
    key: 'sync.entity-time-limit',
    type: { kind: 'duration', min: '1s' },
    required: false,
    default: '30m',
    doc: 'An entity that syncs longer is stopped and logged as an error; the pass goes on with the next entity (Puppet Enterprise\'s meaning).',
  },
  {
    key: 'sync.progress-interval',
    type: { kind: 'duration', min: '1s' },
    required: false,
    default: '30s',
    doc: 'An entity that syncs longer logs a progress line this often (records done and to do, rate, ETA: docs/operations.md#progress); `once` also writes it to standard error, as a bar on a terminal. `run` shows it in /status and the metrics.',
  },
  {
    key: 'sync.jitter-percent',
    type: { kind: 'integer', min: 0, max: 50 },
    required: false,
    default: 10,
    doc: '`run` spreads each wait between passes by up to this many percent either way, so that a fleet of sidecars never falls into step.',
  },
  {
    key: 'sync.backoff-max',
    type: { kind: 'duration', min: '1s' },
    required: false,
    default: '10m',
    doc: 'After consecutive failed passes `run` waits longer before the next: the interval, doubled per further failure, up to this cap (never below the interval).',
  },
  {
    key: 'sync.queue-limit',
    type: { kind: 'integer', min: 0, max: 1_000_000 },
    required: false,
    default: 100,
    doc: 'While the local PuppetDB\'s command queue is deeper than this, transfers wait; 0 turns the check off.',
  },
  {
    key: 'sync.request-timeout',
    type: { kind: 'duration', min: '1ms' },
    required: false,
    default: '60s',
    doc: 'Per request (T): a record, a command or the status answered whole within T; a summary answered (status and headers) within T, then no silence longer than T and at least 1 KiB/s over each T spent waiting. Commands ask PuppetDB to apply them within 80% of T. Two attempts in a row that find a server not answering make it down for the rest of the pass (docs/operations.md#deadlines-and-dead-servers).',
  },
  {
    key: 'sync.concurrency',
    type: { kind: 'integer', min: 1, max: 64 },
    required: false,
    default: 4,
    doc: 'How many records of one entity are transferred at once.',
  },
  {
    key: 'sync.max-record-size',
    type: { kind: 'integer', min: 1024, max: 2_147_483_647 },
    required: false,
    default: 67_108_864,
    doc: 'Bytes: a remote record (one catalog, factset, ...) whose response is larger fails alone; a record in flight takes about 7 times its size in memory.',
  },
  ...TLS_OPTIONS,
  {
    key: 'http',
    type: { kind: 'object' },
    required: false,
    doc: 'The HTTP API of `run`: /status, /health, /sync, /metrics.',
  },
  {
    key: 'http.host',
    type: { kind: 'host' },
    required: false,
    default: '127.0.0.1',
    doc: 'Address the HTTP API listens on.',
  },
  {
    key: 'http.port',
    type: { kind: 'integer', min: 0, max: 65_535 },
    required: false,
    default: 8095,
    doc: 'Port of the HTTP API; 0 turns the API off.',
  },
  {
    key: 'http.startup-grace',
    type: { kind: 'duration', min: '0s' },
    required: false,
    default: '5m',
    doc: '/health answers 200 this long after start even before every remote has had a successful pass.',
  },
  ...HTTP_TLS_OPTIONS,
  ...STATE_OPTIONS,
  ...SEED_OPTIONS,
  {
    key: 'log',
    type: { kind: 'object' },
    required: false,
    doc: 'Logging.',
  },
  {
    key: 'log.level',
    type: { kind: 'enum', values: LOG_LEVELS },
    required: false,
    default: 'info',
    doc: 'Least severe level written (JSON lines on stdout).',
  },
  {
    key: 'log.format',
    type: { kind: 'enum', values: LOG_FORMATS },
    required: false,
    default: 'pe',
    doc: 'pe: the fields of Puppet Enterprise\'s sync log schema; ecs: Elastic Common Schema, for Filebeat and Elasticsearch without a mapping of their own.',
  },
];

export const OPTIONS_BY_KEY: ReadonlyMap<string, OptionSpec> = new Map(OPTIONS.map((o) => [o.key, o]));

/** The options of one kind of file: the sidecar's (OPTIONS) or the spool's (schema-spool.ts). */
export interface OptionTable {
  readonly options: readonly OptionSpec[];
  readonly byKey: ReadonlyMap<string, OptionSpec>;
}

export function optionTable(options: readonly OptionSpec[]): OptionTable {
  return { options, byKey: new Map(options.map((o) => [o.key, o])) };
}

/** The sidecar's file: `run`, `once`, `diff`, `seed`. */
export const SIDECAR_OPTIONS: OptionTable = { options: OPTIONS, byKey: OPTIONS_BY_KEY };

/** The schema key of the option named `name` inside the object (or array, name '[]') whose schema key is `parent`. */
export function childKey(parent: string, name: string): string {
  if (name === '[]') return `${parent}[]`;
  return parent === '' ? name : `${parent}.${name}`;
}

/** The options directly inside the object whose schema key is `parent` ('' for the top level), in table order. */
export function childrenOf(parent: string, options: readonly OptionSpec[] = OPTIONS): OptionSpec[] {
  return options.filter((o) => {
    if (o.key === parent || !o.key.startsWith(parent === '' ? '' : `${parent}.`)) return false;
    const rest = parent === '' ? o.key : o.key.slice(parent.length + 1);
    return !rest.includes('.') && !rest.includes('[');
  });
}

/** Human wording of a type, for the docs and for error messages. */
export function describeType(type: OptionType): string {
  switch (type.kind) {
    case 'object':
      return 'object';
    case 'array':
      return type.minItems > 0 ? `array (at least ${type.minItems})` : 'array';
    case 'url':
      return 'URL (http or https)';
    case 'duration':
      return type.min === '0s' ? 'duration' : `duration (at least ${type.min})`;
    case 'integer':
      return `integer ${type.min}..${type.max}`;
    case 'path':
      return 'file path';
    case 'host':
      return 'host name or IP address';
    case 'enum':
      return `one of ${type.values.join(', ')}`;
    case 'boolean':
      return 'true or false';
    case 'string':
      return type.describe ?? 'string';
    case 'secret':
      return 'string (never shown)';
  }
}
