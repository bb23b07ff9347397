/**
 * Pure: the checks before a seed, each a coded one-line refusal that says what to do.
 * seed.ts gathers the facts (inspect.ts, pg-tools.ts) and applies them in this order.
 */

import { SyncError } from '../errors.ts';
import { schemaSupport } from '../puppetdb/versions.ts';
import type { Tool, ToolName } from './pg-tools.ts';

/** Who is on the local database, besides the seed: PuppetDB holds its pools' connections while it runs. */
export interface Session {
  readonly application: string;
  readonly user: string;
  readonly count: number;
}

export function refuseRunning(serverUrl: string, answers: boolean, sessions: readonly Session[], database: string): void {
  const held = sessions.map((s) => `${s.count} of ${s.user} (${s.application || 'no application name'})`).join(', ');
  if (answers || sessions.length > 0) {
    const why = [answers && `${serverUrl} answers`, sessions.length > 0 && `sessions on ${database}: ${held}`].filter(Boolean).join('; ');
    throw new SyncError('PDBSYNC_ERR_SEED_LOCAL_RUNNING', why);
  }
}

/** What the local database's schema `public` holds, not counting the extensions' objects. */
export interface Contents {
  readonly relations: number;
  readonly functions: number;
}

export function isEmpty(contents: Contents): boolean {
  return contents.relations === 0 && contents.functions === 0;
}

export function refuseNotEmpty(contents: Contents, database: string): void {
  if (!isEmpty(contents)) {
    throw new SyncError('PDBSYNC_ERR_SEED_LOCAL_NOT_EMPTY', `${database} holds ${contents.relations} tables, views and sequences and ${contents.functions} functions in schema public`);
  }
}

/** `peerSchema`: the peer's greatest schema_migrations version; `local`: the local PuppetDB's version and where it was read. */
export function refuseNewerSchema(peerSchema: number, local: { version: string; from: string }): void {
  const support = schemaSupport(local.version);
  if (support === undefined) {
    throw new SyncError('PDBSYNC_ERR_SEED_PUPPETDB_VERSION', `PuppetDB ${local.version} (${local.from}) is older than every release whose schema src/puppetdb/versions.ts knows`);
  }
  if (peerSchema > support.schema) {
    const runs = support.exact ? `runs schema ${support.schema} at most` : `runs schema ${support.schema} or a later one (as ${support.known} does; later releases are not in the table)`;
    throw new SyncError('PDBSYNC_ERR_SEED_SCHEMA_NEWER', `the peer's schema is ${peerSchema}, and PuppetDB ${local.version} here (${local.from}) ${runs}`);
  }
}

/**
 * pg_dump refuses a server newer than itself, and pg_restore may not read what a newer
 * pg_dump wrote or write what a newer server needs: both tools at least as new as both
 * servers. The tools, once they are.
 */
export function refuseOldTools(tools: Readonly<Record<ToolName, Tool | undefined>>, servers: { peer: number; local: number }, binDir: string | undefined): Readonly<Record<ToolName, Tool>> {
  const where = binDir === undefined ? 'on PATH' : `in ${binDir}`;
  const usable = (name: ToolName): Tool => {
    const tool = tools[name];
    if (tool === undefined) throw new SyncError('PDBSYNC_ERR_SEED_TOOLS', `no working ${name} ${where}`);
    if (tool.major < Math.max(servers.peer, servers.local)) {
      throw new SyncError('PDBSYNC_ERR_SEED_TOOLS', `${tool.file} is PostgreSQL ${tool.major}; the peer's server is ${servers.peer} and the local one ${servers.local}`);
    }
    return tool;
  };
  return { pg_dump: usable('pg_dump'), pg_restore: usable('pg_restore') };
}

export function refuseMissingExtensions(peer: readonly string[], local: readonly string[], database: string): void {
  const missing = peer.filter((name) => !local.includes(name));
  if (missing.length > 0) throw new SyncError('PDBSYNC_ERR_SEED_EXTENSIONS', `${database} lacks ${missing.join(', ')}`);
}
