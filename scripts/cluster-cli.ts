// Runs a throw-away PostgreSQL + PuppetDB cluster until SIGINT/SIGTERM.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster } from './cluster.ts';
import { DEFAULT_PDB_VERSION, isPdbVersion, PDB_VERSIONS } from './pdb-runtime.ts';

const usage = `Usage: node scripts/cluster-cli.ts start [--servers N] [--versions V,...] [--dir DIR] [--https]

Starts one PostgreSQL and N PuppetDB servers (default 2) on free loopback ports,
each of the version --versions names in order (${PDB_VERSIONS.join(', ')}; by default
all ${DEFAULT_PDB_VERSION}; the 8.x servers run from Debian chroots built once),
prints their URLs as JSON on stdout and runs until SIGINT or SIGTERM, then stops
them and removes DIR (default: a fresh folder under the temp dir). With --https,
each server serves https too, with a test CA's certificates in DIR/pki (see
scripts/cluster-tls.ts); its URLs and the folder are printed on stderr.`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    servers: { type: 'string' },
    versions: { type: 'string' },
    dir: { type: 'string' },
    https: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});

const versions = values.versions?.split(',');
const servers = Number(values.servers ?? versions?.length ?? 2);
const badVersion = versions?.some((v) => !isPdbVersion(v)) || (versions && versions.length !== servers);
if (values.help || positionals[0] !== 'start' || !Number.isInteger(servers) || servers < 1 || badVersion) {
  console.error(usage);
  process.exit(values.help ? 0 : 2);
}

const cluster = await startCluster({
  servers,
  ...(versions && { versions: versions.filter(isPdbVersion) }),
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
