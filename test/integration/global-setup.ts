// Starts real PuppetDB servers once for the whole integration project.
// PDBSYNC_TEST_SERVER_URLS (comma-separated) reuses servers already running, e.g.
// from `npm run cluster -- start`, to iterate without waiting for start-up each time;
// PDBSYNC_TEST_PG (SOCKET_DIR:PORT, printed by the cluster) gives the tests their
// PostgreSQL, whose databases are puppetdb1, puppetdb2, ... in the servers' order;
// PDBSYNC_TEST_HTTPS_URLS and PDBSYNC_TEST_PKI (printed by `cluster start --https`)
// give tls.test.ts the same servers over https and their certificates;
// PDBSYNC_TEST_VERSION_URLS (`7.12.1=URL,URL;8.4.1=URL,URL;8.8.1=URL,URL`) gives the
// version matrix its pairs.
//
// The bulk of the suite runs on PuppetDB 8.8.1 (DEFAULT_PDB_VERSION): the last
// open-source PuppetDB and the base of OpenVoxDB, the closest to what users run or
// move to. Two servers of each version join them for the version matrix, the mixed
// mesh, the relay ring and the randomized run: servers of their own, as a pass copies
// whatever a server holds, and the bulk's hold every other test's records.
// The servers serve https too: a second connector costs them a few seconds of start-up
// at most, against a minute or more for a cluster of tls.test.ts's own.
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startCluster } from '../../scripts/cluster.ts';
import { DEFAULT_PDB_VERSION, PDB_VERSIONS, type PdbVersion } from '../../scripts/pdb-runtime.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pdbServers: string[];
    /** PostgreSQL of the servers: the socket folder and port, for psql as its superuser. */
    pdbPostgres: { socketDir: string; port: number } | null;
    /** The same servers over https, in the same order, and the folder of their test PKI (scripts/cluster-tls.ts). */
    pdbHttps: { urls: string[]; pkiDir: string } | null;
    /** Two servers of each version, for the version matrix and the mixed mesh; empty when not given. */
    pdbVersions: Partial<Record<PdbVersion, string[]>>;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const reuse = process.env.PDBSYNC_TEST_SERVER_URLS;
  if (reuse) {
    const [socketDir, port] = (process.env.PDBSYNC_TEST_PG ?? '').split(':');
    project.provide('pdbServers', reuse.split(','));
    project.provide('pdbPostgres', socketDir && port ? { socketDir, port: Number(port) } : null);
    const httpsUrls = process.env.PDBSYNC_TEST_HTTPS_URLS;
    const pkiDir = process.env.PDBSYNC_TEST_PKI;
    project.provide('pdbHttps', httpsUrls && pkiDir ? { urls: httpsUrls.split(','), pkiDir } : null);
    project.provide('pdbVersions', versionUrls(process.env.PDBSYNC_TEST_VERSION_URLS ?? ''));
    return undefined;
  }
  const started = Date.now();
  const bulk = Number(process.env.PDBSYNC_TEST_SERVERS ?? 3);
  const versions = [...Array.from({ length: bulk }, () => DEFAULT_PDB_VERSION), ...PDB_VERSIONS.flatMap((version) => [version, version])];
  const cluster = await startCluster({
    servers: versions.length,
    versions,
    https: true,
    // tls.test.ts takes the last of the bulk for the revoked one.
    revokedServer: bulk,
    log: (line) => console.log(`[cluster] ${line}`),
  });
  console.log(`[cluster] ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide('pdbServers', cluster.servers.slice(0, bulk).map((s) => s.url));
  const ofVersion = (version: PdbVersion) => cluster.servers.slice(bulk).filter((s) => s.version === version).map((s) => s.url);
  project.provide('pdbVersions', Object.fromEntries(PDB_VERSIONS.map((version) => [version, ofVersion(version)])));
  project.provide('pdbPostgres', { socketDir: join(cluster.postgres.dir, 'sock'), port: cluster.postgres.port });
  project.provide('pdbHttps', { urls: cluster.servers.slice(0, bulk).map((s) => s.httpsUrl!), pkiDir: cluster.pki!.dir });
  return () => cluster.stop();
}

/** `7.12.1=URL,URL;8.4.1=URL,URL` -> the URLs of each version named. */
function versionUrls(text: string): Partial<Record<PdbVersion, string[]>> {
  const pairs = text.split(';').filter((part) => part.includes('=')).map((part) => part.split('=') as [string, string]);
  return Object.fromEntries(pairs.filter(([version]) => (PDB_VERSIONS as readonly string[]).includes(version)).map(([version, urls]) => [version, urls.split(',')]));
}
