/**
 * `puppetdb-sync seed`: fills the local PuppetDB's empty database from a peer's with
 * pg_dump and pg_restore (directory format, parallel jobs, one snapshot), after the
 * checks of guards.ts. Nothing is copied row by row here: PostgreSQL's tools do it
 * (docs/seeding.md).
 */

import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config, DatabaseConnection, SeedConfig } from '../config/types.ts';
import { SyncError } from '../errors.ts';
import { startPhase, type Logger } from '../log.ts';
import { writeCredentials, type ChildCredentials } from './credentials.ts';
import { isEmpty, refuseMissingExtensions, refuseNewerSchema, refuseNotEmpty, refuseOldTools, refuseRunning } from './guards.ts';
import { answers, emptyLocal, inspectLocal, inspectPeer, type LocalFacts, type PeerFacts } from './inspect.ts';
import { dumpArgs, restoreArgs, serverMajor } from './pg-args.ts';
import { findTool, runTool, stderrSummary, type Tool } from './pg-tools.ts';
import { DEFAULT_JARS, localPuppetDbVersion } from './puppetdb-version.ts';

export interface SeedOptions {
  /** Empty a local database that is not empty, instead of refusing. */
  readonly force: boolean;
}

export interface SeedResult {
  readonly peerSchema: number;
  readonly dumpMs: number;
  readonly restoreMs: number;
  readonly dumpBytes: number;
  readonly localDatabaseBytes: number;
}

/** The seed block and the local database, or the configuration error that says what is missing. */
function seedSettings(config: Config): { seed: SeedConfig; local: DatabaseConnection } {
  const seed = config.seed;
  if (seed === undefined) throw new SyncError('PDBSYNC_ERR_CONFIG_MISSING_KEY', `seed: missing: puppetdb-sync seed needs a seed block with seed.peer (docs/seeding.md) at ${config.file}`);
  if (seed.local === undefined) {
    throw new SyncError('PDBSYNC_ERR_CONFIG_MISSING_KEY', `seed.local-database-ini: missing, and no puppetdb.conf-dir names a file with [database] at ${config.file}`);
  }
  return { seed, local: seed.local };
}

/** Runs the checks; what they learned, for the copy. */
async function check(config: Config, seed: SeedConfig, local: DatabaseConnection, { force }: SeedOptions, log: Logger) {
  const [dump, restore] = await Promise.all([findTool('pg_dump', seed.pgBinDir), findTool('pg_restore', seed.pgBinDir)]);
  const [listening, localFacts] = await Promise.all([answers(config.local.serverUrl), inspectLocal(local)]);
  refuseRunning(config.local.serverUrl, listening, localFacts.sessions, local.describe);
  const peerFacts = await inspectPeer(seed.peer);
  const tools = refuseOldTools({ pg_dump: dump, pg_restore: restore }, { peer: serverMajor(peerFacts.versionNum), local: serverMajor(localFacts.versionNum) }, seed.pgBinDir);
  if (peerFacts.schema === undefined) throw new SyncError('PDBSYNC_ERR_SEED_DATABASE', `${seed.peer.describe} has no public.schema_migrations: it is not a PuppetDB database`);
  const localVersion = await localPuppetDbVersion(seed.puppetdbVersion, seed.puppetdbJar === undefined ? DEFAULT_JARS : [seed.puppetdbJar]);
  refuseNewerSchema(peerFacts.schema, localVersion);
  refuseMissingExtensions(peerFacts.extensions, localFacts.extensions, local.describe);
  if (!force) refuseNotEmpty(localFacts.contents, local.describe);
  log.info({ peer: seed.peer.describe, local: local.describe, peerSchema: peerFacts.schema, localPuppetdb: localVersion.version, localPuppetdbFrom: localVersion.from, pgDump: tools.pg_dump.file, pgDumpMajor: tools.pg_dump.major }, 'seed checks passed');
  return { tools: { dump: tools.pg_dump, restore: tools.pg_restore }, peerFacts, localFacts, peerSchema: peerFacts.schema };
}

async function folderBytes(dir: string): Promise<number> {
  const names = await readdir(dir);
  const sizes = await Promise.all(names.map(async (name) => (await stat(join(dir, name))).size));
  return sizes.reduce((sum, size) => sum + size, 0);
}

/** Runs a tool of the seed; its failure (status, deadline) as the coded error `code`. */
async function runStep(tool: Tool, args: string[], env: Record<string, string>, timeoutMs: number, code: 'PDBSYNC_ERR_SEED_DUMP' | 'PDBSYNC_ERR_SEED_RESTORE'): Promise<void> {
  const result = await runTool(tool.file, args, { env, timeoutMs });
  if (result.timedOut) throw new SyncError(code, `${tool.name} ran past seed.time-limit (${Math.round(timeoutMs / 1000)} s) and was stopped`);
  if (result.status !== 0) throw new SyncError(code, `${tool.name} exited with ${result.status ?? 'a signal'}: ${stderrSummary(result.stderr)}`);
}

async function copy(seed: SeedConfig, local: DatabaseConnection, tools: { dump: Tool; restore: Tool }, credentials: ChildCredentials, facts: { peer: PeerFacts; local: LocalFacts }, log: Logger) {
  const work = await mkdtemp(join(seed.workDir, 'puppetdb-sync-seed-'));
  const dir = join(work, 'dump');
  try {
    const dumping = startPhase(log, 'dump', { peer: seed.peer.describe, jobs: seed.jobs, peerDatabaseBytes: facts.peer.databaseBytes, dir });
    const dumpStarted = performance.now();
    try {
      await runStep(tools.dump, dumpArgs(dir, seed.jobs), credentials.environment(seed.peer), seed.timeLimitMs, 'PDBSYNC_ERR_SEED_DUMP');
    } catch (error) {
      dumping.error(error);
      throw error;
    }
    const dumpMs = performance.now() - dumpStarted;
    const dumpBytes = await folderBytes(dir);
    dumping.finished({ dumpBytes });

    const restoring = startPhase(log, 'restore', { local: local.describe, jobs: seed.jobs, dumpBytes });
    const restoreStarted = performance.now();
    try {
      await runStep(tools.restore, restoreArgs(dir, seed.jobs), credentials.environment(local), seed.timeLimitMs, 'PDBSYNC_ERR_SEED_RESTORE');
    } catch (error) {
      restoring.error(error);
      throw error;
    }
    const restoreMs = performance.now() - restoreStarted;
    const localDatabaseBytes = (await inspectLocal(local)).databaseBytes;
    restoring.finished({ localDatabaseBytes });
    return { dumpMs, restoreMs, dumpBytes, localDatabaseBytes };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export async function seedLocal(config: Config, log: Logger, options: SeedOptions): Promise<SeedResult> {
  const { seed, local } = seedSettings(config);
  const phase = startPhase(log, 'seed', { peer: seed.peer.describe, local: local.describe, force: options.force });
  try {
    const { tools, peerFacts, localFacts, peerSchema } = await check(config, seed, local, options, log);
    if (!isEmpty(localFacts.contents)) {
      log.warn({ local: local.describe, ...localFacts.contents }, 'seed --force: dropping what the local database holds');
      await emptyLocal(local);
    }
    const credentials = await writeCredentials({ peer: seed.peer, local });
    try {
      const copied = await copy(seed, local, tools, credentials, { peer: peerFacts, local: localFacts }, log);
      const result = { peerSchema, ...copied, dumpMs: Math.round(copied.dumpMs), restoreMs: Math.round(copied.restoreMs) };
      phase.finished({ ...result });
      return result;
    } finally {
      await credentials.remove();
    }
  } catch (error) {
    phase.error(error);
    throw error;
  }
}
