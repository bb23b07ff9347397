/**
 * `puppetdb-sync spool`'s own file (docs/configuration.md#the-spool): the journal of
 * commands on a Puppet Server host, the command API it answers the terminus on, and
 * the PuppetDB servers it delivers to. The `tls` and `log` blocks are the sidecar's,
 * the `http` block too but for its port (and `startup-grace`, which the spool has no
 * use for). load-spool.ts validates against this table; scripts/gen-docs.ts renders
 * it as a table of its own.
 */

import { OPTIONS, optionTable, type OptionSpec, type OptionTable } from './schema.ts';
import { HTTP_TLS_OPTIONS, TLS_OPTIONS } from './schema-tls.ts';

/** 2^53 - 1: sizes in bytes are exact integers in JavaScript up to this. */
const MAX_BYTES = Number.MAX_SAFE_INTEGER;

const SPOOL_BLOCK: readonly OptionSpec[] = [
  {
    key: 'spool',
    type: { kind: 'object' },
    required: true,
    doc: 'The journal of commands on a Puppet Server host and its delivery to the PuppetDB servers.',
  },
  {
    key: 'spool.servers',
    type: { kind: 'array', minItems: 1 },
    required: true,
    doc: 'The PuppetDB servers a journaled command must reach: those of the terminus\'s server_urls (puppetdb.conf), not the spool itself.',
  },
  {
    key: 'spool.servers[]',
    type: { kind: 'url' },
    required: true,
    doc: 'URL of one PuppetDB server; each is named once.',
  },
  {
    key: 'spool.journal-dir',
    type: { kind: 'path' },
    required: false,
    default: '/var/lib/puppetdb-sync/spool',
    doc: 'The journal\'s folder: its SQLite database and write-ahead log, on a disk that survives a reboot (the systemd unit\'s StateDirectory).',
  },
  {
    key: 'spool.grace',
    type: { kind: 'duration', min: '0s' },
    required: false,
    default: '5m',
    doc: 'A command is checked against the servers only this long after it was journaled: longer than the terminus\'s broadcast (server_url_timeout, 30 s a server), PuppetDB\'s queue and the sidecars\' report-settle take, so the sidecars fill the gaps between servers first and the spool only what no server got.',
  },
  {
    key: 'spool.max-size',
    type: { kind: 'integer', min: 1_048_576, max: MAX_BYTES },
    required: false,
    default: 10_737_418_240,
    doc: 'Bytes the journal may hold. Commands delivered everywhere are kept for `spool replay` until space is needed (then evicted oldest first); when commands still pending fill it, new commands get 503.',
  },
  {
    key: 'spool.max-age',
    type: { kind: 'duration', min: '1m' },
    required: false,
    default: '14d',
    doc: 'Commands journaled longer ago than this are removed, pending or not (counted in pdbsync_spool_dropped_total when pending): how far back `spool replay` reaches.',
  },
  {
    key: 'spool.report-ttl',
    type: { kind: 'duration', min: '1ms' },
    required: false,
    default: '14d',
    doc: 'Reports older than this (by producer_timestamp) are never delivered: set it to the servers\' report-ttl.',
  },
  {
    key: 'spool.node-purge-ttl',
    type: { kind: 'duration', min: '0s' },
    required: false,
    default: '14d',
    doc: 'Commands older than this (by producer_timestamp) are never delivered, so nothing purged comes back: set it to the servers\' node-purge-ttl.',
  },
  {
    key: 'spool.request-timeout',
    type: { kind: 'duration', min: '1ms' },
    required: false,
    default: '60s',
    doc: 'Per request to a PuppetDB server, as sync.request-timeout: a lookup or a command answered within it (commands ask PuppetDB to apply them within 80% of it).',
  },
  {
    key: 'spool.report-settle',
    type: { kind: 'duration', min: '0s' },
    required: false,
    default: '2m',
    doc: 'As sync.report-settle: on a server with the duplicate-report race (docs/versions.md), a report is delivered only once that server\'s command queue was seen empty this long after the report\'s producer_timestamp.',
  },
  {
    key: 'spool.concurrency',
    type: { kind: 'integer', min: 1, max: 64 },
    required: false,
    default: 2,
    doc: 'Commands delivered at once to each server.',
  },
  {
    key: 'spool.max-command-size',
    type: { kind: 'integer', min: 1024, max: 2_147_483_647 },
    required: false,
    default: 1_073_741_824,
    doc: 'Bytes: a command larger than this (its X-Uncompressed-Length, else its Content-Length, else the body read) is refused with 413, as PuppetDB refuses one above its max-command-size with reject-large-commands.',
  },
];

const SPOOL_HTTP: readonly OptionSpec[] = [
  {
    key: 'http',
    type: { kind: 'object' },
    required: false,
    doc: 'The spool\'s HTTP API: the command API (POST /pdb/cmd/v1), /health and /metrics; loopback http, or https with Puppet\'s certificates so the terminus can name it in submit_only_server_urls.',
  },
  {
    key: 'http.host',
    type: { kind: 'host' },
    required: false,
    default: '127.0.0.1',
    doc: 'Address the spool listens on.',
  },
  {
    key: 'http.port',
    type: { kind: 'integer', min: 1, max: 65_535 },
    required: false,
    default: 8097,
    doc: 'Port the spool listens on.',
  },
  ...HTTP_TLS_OPTIONS,
];

/** The sidecar's `log` block, unchanged. */
const LOG_BLOCK = OPTIONS.filter((option) => option.key === 'log' || option.key.startsWith('log.'));

export const SPOOL_OPTION_LIST: readonly OptionSpec[] = [...SPOOL_BLOCK, ...SPOOL_HTTP, ...TLS_OPTIONS, ...LOG_BLOCK];

export const SPOOL_OPTIONS: OptionTable = optionTable(SPOOL_OPTION_LIST);
