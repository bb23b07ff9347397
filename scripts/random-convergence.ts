// The randomized convergence test for a long run:
//   node scripts/random-convergence.ts --seed N --rounds R [--nodes K] [--servers URL,URL,URL]
// Servers: --servers, else PDBSYNC_TEST_SERVER_URLS; the seed: --seed, else
// PDBSYNC_RANDOM_SEED, else a fresh one (printed). The CLI under test is dist/cli.js
// (`npm run build` first). Exit status 1 when a round did not converge.
import { parseArgs } from 'node:util';
import { Rng, seedFromEnv } from '../test/integration/random-topology.ts';
import { roundPrefix, runRound } from '../test/integration/random-world.ts';

const { values } = parseArgs({
  options: { seed: { type: 'string' }, rounds: { type: 'string', default: '20' }, nodes: { type: 'string', default: '6' }, servers: { type: 'string' } },
});
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : seedFromEnv();
const servers = (values.servers ?? process.env.PDBSYNC_TEST_SERVER_URLS ?? '').split(',').filter(Boolean);
if (servers.length < 2) {
  console.error('give two or more servers: --servers URL,URL,URL or PDBSYNC_TEST_SERVER_URLS');
  process.exit(2);
}
const rounds = Number(values.rounds);
console.log(`seed ${seed}, ${rounds} rounds, servers ${servers.join(', ')}`);
const rng = new Rng(seed);
let failed = 0;
for (let round = 0; round < rounds; round++) {
  const result = await runRound(rng, servers, roundPrefix(seed, round), { nodes: Number(values.nodes) });
  if (result.problems.length > 0) {
    failed++;
    console.log(`round ${round} (seed ${seed}) did not converge:\n${result.problems.join('\n')}`);
  }
}
console.log(`seed ${seed}: ${rounds - failed} of ${rounds} rounds converged`);
process.exit(failed > 0 ? 1 : 0);
