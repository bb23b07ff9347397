// Starts real PuppetDB servers once for the whole integration project.
// PDBSYNC_TEST_SERVER_URLS (comma-separated) reuses servers already running, e.g.
// from `npm run cluster -- start`, to iterate without waiting for start-up each time.
import type { TestProject } from 'vitest/node';
import { startCluster } from '../../scripts/cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pdbServers: string[];
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const reuse = process.env.PDBSYNC_TEST_SERVER_URLS;
  if (reuse) {
    project.provide('pdbServers', reuse.split(','));
    return undefined;
  }
  const started = Date.now();
  const cluster = await startCluster({
    servers: Number(process.env.PDBSYNC_TEST_SERVERS ?? 3),
    log: (line) => console.log(`[cluster] ${line}`),
  });
  console.log(`[cluster] ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  project.provide('pdbServers', cluster.servers.map((s) => s.url));
  return () => cluster.stop();
}
