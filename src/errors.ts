/**
 * Every error puppetdb-sync reports has a code from this table. The table is the
 * single source: docs/operations.md lists the same codes (a unit test keeps them in
 * step) and `retryable` is what the retry layer consults, so no caller decides it.
 */
export const ERROR_CODES = {
  PDBSYNC_ERR_CONFIG_PARSE: { message: 'the configuration file is not valid HOCON', retryable: false },
  PDBSYNC_ERR_CONFIG_UNSUPPORTED: { message: 'the configuration uses a HOCON feature that is refused (include, require, value transforms)', retryable: false },
  PDBSYNC_ERR_CONFIG_READ: { message: 'the configuration file cannot be read', retryable: false },
  PDBSYNC_ERR_CONFIG_UNKNOWN_KEY: { message: 'unknown configuration key', retryable: false },
  PDBSYNC_ERR_CONFIG_MISSING_KEY: { message: 'a required configuration key is missing', retryable: false },
  PDBSYNC_ERR_CONFIG_INVALID_VALUE: { message: 'a configuration value is invalid', retryable: false },
  PDBSYNC_ERR_CONFIG_TLS_FILE: { message: 'a TLS file of the configuration cannot be used', retryable: false },
  PDBSYNC_ERR_CONFIG_HTTP_LISTEN: { message: 'the HTTP API cannot listen where http.host and http.port say', retryable: false },
  PDBSYNC_ERR_CONFIG_REMOTE_IS_LOCAL: { message: 'a remote is the local server: a server cannot sync with itself', retryable: false },
  PDBSYNC_ERR_USAGE: { message: 'the command line is not valid', retryable: false },
  PDBSYNC_ERR_HTTP_CONNECT: { message: 'cannot connect to the PuppetDB server, or the connection broke mid-response', retryable: true },
  // Not retried: a certificate refused now is refused again a second later; the next pass tries again.
  PDBSYNC_ERR_HTTP_TLS: { message: 'the PuppetDB server\'s certificate was refused (not signed by ssl-ca-cert, not for this host name, revoked, or expired)', retryable: false },
  PDBSYNC_ERR_HTTP_TIMEOUT: { message: 'the PuppetDB server did not answer in time, or sent too little to count as answering', retryable: true },
  PDBSYNC_ERR_HTTP_DEADLINE: { message: 'the response took longer than sync.request-timeout in all, though the server kept sending: raise sync.request-timeout for records this large', retryable: false },
  PDBSYNC_ERR_SERVER_DOWN: { message: 'the PuppetDB server stopped answering: no further request is sent to it until the next pass', retryable: false },
  PDBSYNC_ERR_HTTP_UNAVAILABLE: { message: 'the PuppetDB server is unavailable (starting or in maintenance)', retryable: true },
  PDBSYNC_ERR_HTTP_SERVER: { message: 'the PuppetDB server answered with a server error', retryable: true },
  PDBSYNC_ERR_HTTP_REJECTED: { message: 'the PuppetDB server rejected the request', retryable: false },
  PDBSYNC_ERR_COMMAND_FAILED: { message: 'the local PuppetDB failed to apply a submitted command', retryable: false },
  PDBSYNC_ERR_COMMAND_UNCONFIRMED: { message: 'the local PuppetDB did not confirm applying a submitted command within the wait; the next pass compares the record again', retryable: false },
  PDBSYNC_ERR_ENTITY_TIME_LIMIT: { message: 'the entity ran past sync.entity-time-limit and was stopped', retryable: true },
  PDBSYNC_ERR_STOPPED: { message: 'the sidecar is stopping: the entity was stopped after its records in flight', retryable: true },
  PDBSYNC_ERR_RECORDS_FAILED: { message: 'some records could not be transferred; the next pass tries them again', retryable: true },
  PDBSYNC_ERR_RESPONSE_MALFORMED: { message: 'the PuppetDB server sent a response that is not the JSON expected', retryable: false },
  PDBSYNC_ERR_RECORD_MALFORMED: { message: 'a remote record does not have the shape its command needs', retryable: false },
  PDBSYNC_ERR_RECORD_INVALID: { message: 'a remote record holds a value PuppetDB would refuse or not give back unchanged (timestamp, certname, number, text)', retryable: false },
  PDBSYNC_ERR_RECORD_MISMATCH: { message: 'a remote record is not the one its summary row names (it changed since, or the server is faulty)', retryable: false },
  PDBSYNC_ERR_RECORD_TOO_LARGE: { message: 'a remote record is larger than sync.max-record-size', retryable: false },
  PDBSYNC_ERR_RECORD_MISSING: { message: 'the remote record disappeared between summary and fetch', retryable: false },
  PDBSYNC_ERR_STATE_DATABASE: { message: 'the state database cannot be reached or written; the sync state is kept in memory until it can', retryable: true },
  PDBSYNC_ERR_LEADERSHIP_LOST: { message: 'this sidecar lost its connection to the state database and so may no longer lead: its passes were stopped', retryable: true },
  PDBSYNC_ERR_SEED_LOCAL_RUNNING: { message: 'the local PuppetDB is running (its server_url answers, or it holds sessions on its database): stop it (systemctl stop puppetdb) and seed again', retryable: false },
  PDBSYNC_ERR_SEED_LOCAL_NOT_EMPTY: { message: 'the local PuppetDB database is not empty: seed fills only an empty database; seed again with --force to drop what it holds first', retryable: false },
  PDBSYNC_ERR_SEED_SCHEMA_NEWER: { message: 'the peer\'s PuppetDB database schema is newer than the local PuppetDB can run: upgrade the local PuppetDB to the peer\'s version first', retryable: false },
  PDBSYNC_ERR_SEED_PUPPETDB_VERSION: { message: 'the local PuppetDB\'s version cannot be learned: set seed.puppetdb-version, or seed.puppetdb-jar to its jar', retryable: false },
  PDBSYNC_ERR_SEED_TOOLS: { message: 'pg_dump or pg_restore is missing, or older than a PostgreSQL server: install postgresql-client of the newest server\'s major version, or set seed.pg-bin-dir', retryable: false },
  PDBSYNC_ERR_SEED_EXTENSIONS: { message: 'the local database lacks an extension the peer\'s PuppetDB uses: create it there as PostgreSQL\'s superuser (CREATE EXTENSION ...), as PuppetDB\'s installation does', retryable: false },
  PDBSYNC_ERR_SEED_DATABASE: { message: 'a PuppetDB database of the seed cannot be reached or read: check seed.peer (or the local database.ini), pg_hba.conf and the role\'s grants', retryable: false },
  PDBSYNC_ERR_SEED_DUMP: { message: 'pg_dump failed or ran past seed.time-limit; the local database is unchanged: fix the cause and seed again', retryable: false },
  PDBSYNC_ERR_SEED_RESTORE: { message: 'pg_restore failed or ran past seed.time-limit; the local database is partly filled: fix the cause and seed again with --force', retryable: false },
  PDBSYNC_ERR_SPOOL_FULL: { message: 'the spool\'s journal is full (spool.max-size reached by commands still pending, or the disk is full): the command was not journaled; deliver or free space', retryable: true },
  PDBSYNC_ERR_SPOOL_JOURNAL: { message: 'the spool\'s journal cannot be opened or written (I/O error, or a damaged file): move the journal aside and start the spool again', retryable: false },
} as const satisfies Record<string, { message: string; retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SyncError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly detail: string;

  constructor(code: ErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${code}: ${ERROR_CODES[code].message}: ${detail}`, options);
    this.name = 'SyncError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.detail = detail;
  }
}

export function isRetryable(error: unknown): boolean {
  return error instanceof SyncError && error.retryable;
}

/** Errors in what the operator gave, the command line or the configuration: exit status 2. */
export function isInputError(error: unknown): boolean {
  return error instanceof SyncError && (error.code === 'PDBSYNC_ERR_USAGE' || error.code.startsWith('PDBSYNC_ERR_CONFIG_'));
}
