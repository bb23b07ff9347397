import { join } from 'node:path';
import { DatabaseSync, type SQLOutputValue } from 'node:sqlite';
import { SyncError } from '../errors.ts';
import type { JournaledCommand } from './spool-types.ts';

/** The journal's file in its folder; SQLite keeps `-wal` and `-shm` beside it. */
export const JOURNAL_FILE = 'journal.sqlite';

export function journalFile(dir: string): string {
  return join(dir, JOURNAL_FILE);
}

/**
 * Opens the journal's database in WAL mode, every commit synced (synchronous=FULL),
 * and checks it: a damaged file throws PDBSYNC_ERR_SPOOL_JOURNAL here, not at the
 * first command. A writer holding the database makes another wait up to 5 s.
 */
export function openDatabase(file: string): DatabaseSync {
  const db = new DatabaseSync(file);
  try {
    db.exec('PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
    const check = db.prepare('PRAGMA quick_check').all().map((row) => Object.values(row)[0]);
    if (check.length !== 1 || check[0] !== 'ok') throw new SyncError('PDBSYNC_ERR_SPOOL_JOURNAL', `${file} is damaged: ${check.slice(0, 5).join('; ')}`);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

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

export function toCommand(row: Record<string, SQLOutputValue>): JournaledCommand {
  const body = row.body as Uint8Array;
  return {
    id: row.id as number,
    uuid: row.uuid as string,
    receivedAt: row.received_at as number,
    command: row.command as string,
    version: row.version as number,
    certname: row.certname as string,
    producerTimestamp: row.producer_timestamp as string,
    body: Buffer.from(body.buffer, body.byteOffset, body.byteLength),
    encoding: row.encoding === 'gzip' ? 'gzip' : 'identity',
  };
}
