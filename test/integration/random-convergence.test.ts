import { describe, expect, it } from 'vitest';
import { mixedServers } from './pdb.ts';
import { Rng, roundPrefix, runRound, seedFromEnv, tiesFromEnv } from './random-world.ts';

// A short run of the randomized convergence test (scripts/random-convergence.ts runs
// many rounds): PDBSYNC_RANDOM_SEED replays a seed, PDBSYNC_RANDOM_TIES=0 leaves out
// factset and catalog ties with other content from the same producer.
const servers = mixedServers();
const seed = seedFromEnv();
const ROUNDS = 2;

describe(`random convergence (seed ${seed})`, () => {
  it(`converges in each of ${ROUNDS} random rounds`, async () => {
    console.log(`random convergence: seed ${seed} (PDBSYNC_RANDOM_SEED=${seed} replays it), servers ${servers.join(', ')}, ties ${tiesFromEnv()}`);
    const rng = new Rng(seed);
    for (let round = 0; round < ROUNDS; round++) {
      const result = await runRound(rng, servers, roundPrefix(seed, round), { nodes: 4, ties: tiesFromEnv() });
      expect(result.problems, `seed ${seed} round ${round}: ${result.plan.topology.kind}, ${result.plan.cutOff} cut off`).toEqual([]);
    }
  });
});
