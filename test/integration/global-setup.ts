// Starts real PuppetDB servers once for the whole integration project.
// PDBSYNC_TEST_SERVER_URLS (comma-separated) reuses servers already running, e.g.
// from `npm run cluster -- start`, to iterate without waiting for start-up each time;
// PDBSYNC_TEST_PG (SOCKET_DIR:PORT, printed by the cluster) gives the tests their
// PostgreSQL, whose databases are puppetdb1, puppetdb2, ... in the servers' order;
// PDBSYNC_TEST_HTTPS_URLS and PDBSYNC_TEST_PKI (printed by `cluster start --https`)
// give tls.test.ts the same servers over https and their certificates.
// The servers serve https too: a second connector costs them a few seconds of start-up
// at most, against a minute or more for a cluster of tls.test.ts's own.
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startCluster } from '../../scripts/cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pdbServers: string[];
    /** PostgreSQL of the servers: the socket folder and port, for psql as its superuser. */
    pdbPostgres: { socketDir: string; port: number } | null;
    /** The same servers over https, in the same order, and the folder of their test PKI (scripts/cluster-tls.ts). */
    pdbHttps: { urls: string[]; pkiDir: string } | null;
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
    return undefined;
  }
  const started = Date.now();
  const cluster = await startCluster({
    servers: Number(process.env.PDBSYNC_TEST_SERVERS ?? 3),
    https: true,
    log: (line) => console.log(`[cluster] ${line}`),
  });
  console.log(`[cluster] ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide('pdbServers', cluster.servers.map((s) => s.url));
  project.provide('pdbPostgres', { socketDir: join(cluster.postgres.dir, 'sock'), port: cluster.postgres.port });
  project.provide('pdbHttps', { urls: cluster.servers.map((s) => s.httpsUrl!), pkiDir: cluster.pki!.dir });
  return () => cluster.stop();
}
