// Runs a throw-away PostgreSQL + PuppetDB cluster until SIGINT/SIGTERM.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster } from './cluster.ts';

const usage = `Usage: node scripts/cluster-cli.ts start [--servers N] [--dir DIR] [--https]

Starts one PostgreSQL and N PuppetDB servers (default 2) on free loopback ports,
prints their URLs as JSON on stdout and runs until SIGINT or SIGTERM, then stops
them and removes DIR (default: a fresh folder under the temp dir). With --https,
each server serves https too, with a test CA's certificates in DIR/pki (see
scripts/cluster-tls.ts); its URLs and the folder are printed on stderr.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    servers: { type: 'string', default: '2' },
    dir: { type: 'string' },
    https: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});

const servers = Number(values.servers);
if (values.help || positionals[0] !== 'start' || !Number.isInteger(servers) || servers < 1) {
  console.error(usage);
  process.exit(values.help ? 0 : 2);
}

const cluster = await startCluster({
  servers,
  ...(values.dir === undefined ? {} : { baseDir: values.dir }),
  https: values.https,
  log: (line) => console.error(line),
});
console.log(JSON.stringify(cluster.servers.map((s) => s.url)));
// For the integration tests that write into the servers' databases.
console.error(`PDBSYNC_TEST_PG=${join(cluster.postgres.dir, 'sock')}:${cluster.postgres.port}`);
// For test/integration/tls.test.ts.
if (cluster.pki) {
  console.error(`PDBSYNC_TEST_HTTPS_URLS=${cluster.servers.map((s) => s.httpsUrl).join(',')}`);
  console.error(`PDBSYNC_TEST_PKI=${cluster.pki.dir}`);
}
console.error('running; press Ctrl-C to stop');
// cluster.ts's SIGINT/SIGTERM handlers stop the cluster and exit; the child processes keep us alive until then.
