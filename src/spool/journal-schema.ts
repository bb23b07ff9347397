import { SyncError } from '../errors.ts';

/**
 * The journal's tables (docs/architecture.md#the-spool).
 *
 * - `commands`: one row per command journaled, its body as the terminus sent it.
 *   `pending_servers` counts its rows in `pending`: 0 once settled everywhere, when
 *   it is kept only for `spool replay` and may be evicted under max-size.
 *   `identity` (command, version, certname, producer time, body digest) makes a
 *   command sent again (the terminus retrying, a second terminus) journaled once.
 * - `pending`: the servers a command still has to be checked against. Its
 *   `received_at` is the command's, copied so that `due` and the oldest pending per
 *   server are read from one index, never by scanning the commands.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS commands (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL UNIQUE,
  received_at INTEGER NOT NULL,
  command TEXT NOT NULL,
  version INTEGER NOT NULL,
  certname TEXT NOT NULL,
  producer_timestamp TEXT NOT NULL,
  encoding TEXT NOT NULL,
  digest BLOB NOT NULL,
  bytes INTEGER NOT NULL,
  pending_servers INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS commands_identity ON commands (command, version, certname, producer_timestamp, encoding, digest);
CREATE INDEX IF NOT EXISTS commands_received ON commands (received_at);
CREATE INDEX IF NOT EXISTS commands_settled ON commands (id) WHERE pending_servers = 0;
CREATE TABLE IF NOT EXISTS pending (
  command_id INTEGER NOT NULL,
  server TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (command_id, server)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_due ON pending (server, received_at, command_id);
`;

/**
 * What a row costs besides its body (its columns, index entries and page slack,
 * roughly): counted in the journal's bytes so that max-size bounds the file even for
 * a flood of tiny commands.
 */
export const ROW_OVERHEAD_BYTES = 256;

/** SQLite's primary result codes (the low byte of an extended code) that name the journal's state. */
const SQLITE_IOERR = 10;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_NOTADB = 26;

/**
 * A SQLite failure as the spool reports it: a full disk is PDBSYNC_ERR_SPOOL_FULL
 * (503, try later), anything else (I/O error, damage, a locked or unreadable file)
 * PDBSYNC_ERR_SPOOL_JOURNAL.
 */
export function journalError(error: unknown, what: string): SyncError {
  if (error instanceof SyncError) return error;
  const errcode = (error as { errcode?: unknown } | null)?.errcode;
  const primary = typeof errcode === 'number' ? errcode & 0xff : undefined;
  const text = error instanceof Error ? error.message : String(error);
  if (primary === SQLITE_FULL) return new SyncError('PDBSYNC_ERR_SPOOL_FULL', `${what}: the disk is full (${text})`, { cause: error });
  const kind = primary === SQLITE_CORRUPT || primary === SQLITE_NOTADB ? 'damaged' : primary === SQLITE_IOERR ? 'I/O error' : 'failed';
  return new SyncError('PDBSYNC_ERR_SPOOL_JOURNAL', `${what}: ${kind} (${text})`, { cause: error });
}
