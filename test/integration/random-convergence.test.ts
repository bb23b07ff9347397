import { describe, expect, it } from 'vitest';
import { mixedServers } from './pdb.ts';
import { Rng, seedFromEnv } from './random-topology.ts';
import { roundPrefix, runRound } from './random-world.ts';

// A short run of the randomized convergence test (scripts/random-convergence.ts runs
// many rounds): PDBSYNC_RANDOM_SEED replays a seed.
const servers = mixedServers();
const seed = seedFromEnv();
const ROUNDS = 2;

describe(`random convergence (seed ${seed})`, () => {
  it(`converges in each of ${ROUNDS} random rounds`, async () => {
    console.log(`random convergence: seed ${seed} (PDBSYNC_RANDOM_SEED=${seed} replays it), servers ${servers.join(', ')}`);
    const rng = new Rng(seed);
    for (let round = 0; round < ROUNDS; round++) {
      const result = await runRound(rng, servers, roundPrefix(seed, round), { nodes: 4 });
      expect(result.problems, `seed ${seed} round ${round}: ${result.plan.topology.kind}, ${result.plan.cutOff} cut off`).toEqual([]);
    }
  });
});
