/**
 * The files through which a child's libpq gets a password and TLS material: a pgpass
 * file and the PEM text the configuration read and checked, in a private folder
 * (0700, files 0600: libpq refuses a key or pgpass readable by others), removed when
 * the seed ends.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseConnection } from '../config/types.ts';
import { libpqEnvironment, pgpassLine, type ConnectionFiles } from './pg-args.ts';

export interface ChildCredentials {
  /** libpq's environment for each database, by name. */
  environment(connection: DatabaseConnection): Record<string, string>;
  remove(): Promise<void>;
}

export async function writeCredentials(connections: Readonly<Record<string, DatabaseConnection>>): Promise<ChildCredentials> {
  const dir = await mkdtemp(join(tmpdir(), 'puppetdb-sync-seed-'));
  const files = new Map<DatabaseConnection, ConnectionFiles>();
  const write = async (name: string, text: string) => {
    const file = join(dir, name);
    await writeFile(file, text, { mode: 0o600 });
    return file;
  };
  try {
    const lines = Object.values(connections).map((connection) => (connection.password ? pgpassLine(connection, connection.password()) : '')).join('');
    const passFile = await write('pgpass', lines);
    for (const [name, connection] of Object.entries(connections)) {
      const ssl = connection.ssl;
      files.set(connection, {
        passFile,
        ...(ssl?.ca !== undefined && { rootCert: await write(`${name}-root.pem`, ssl.ca) }),
        ...(ssl?.cert !== undefined && { cert: await write(`${name}-cert.pem`, ssl.cert) }),
        ...(ssl?.key !== undefined && { key: await write(`${name}-key.pem`, ssl.key) }),
      });
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    environment: (connection) => libpqEnvironment(connection, files.get(connection)!),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
