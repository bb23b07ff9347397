// The random part of the randomized convergence test: a seeded PRNG, and topologies
// over the servers (pair, chain, ring, mesh) with their diameters.

/** mulberry32: a tiny PRNG, a float in [0, 1) per call. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
  /** A UUID drawn from the generator (reproducible, unlike randomUUID). */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }
}

/** The seed: PDBSYNC_RANDOM_SEED when set, else a fresh one. */
export function seedFromEnv(): number {
  const given = process.env.PDBSYNC_RANDOM_SEED;
  if (given !== undefined && given !== '') return Number(given) >>> 0;
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
}


export type TopologyKind = 'pair' | 'chain' | 'ring' | 'mesh';

/** Directed edges [local, remote]: local pulls from remote. */
export interface Topology {
  readonly kind: TopologyKind;
  readonly members: readonly string[];
  readonly edges: ReadonlyArray<readonly [string, string]>;
}

export function topology(rng: Rng, servers: readonly string[]): Topology {
  const kinds: TopologyKind[] = servers.length >= 3 ? ['pair', 'chain', 'ring', 'mesh'] : ['pair'];
  const kind = rng.pick(kinds);
  const shuffled = rng.shuffle(servers);
  const members = kind === 'pair' ? shuffled.slice(0, 2) : shuffled;
  const edges: Array<readonly [string, string]> = [];
  if (kind === 'pair' || kind === 'chain') {
    for (let i = 0; i + 1 < members.length; i++) edges.push([members[i]!, members[i + 1]!], [members[i + 1]!, members[i]!]);
  } else if (kind === 'ring') {
    members.forEach((local, i) => edges.push([local, members[(i + 1) % members.length]!]));
  } else {
    for (const local of members) for (const remote of members) if (local !== remote) edges.push([local, remote]);
  }
  return { kind, members, edges };
}

/** The longest of the shortest paths a record travels along the edges (remote -> local). */
export function diameter(members: readonly string[], edges: ReadonlyArray<readonly [string, string]>): number {
  let longest = 0;
  for (const start of members) {
    const distance = new Map([[start, 0]]);
    const queue = [start];
    while (queue.length > 0) {
      const at = queue.shift()!;
      for (const [local, remote] of edges) {
        if (remote === at && !distance.has(local)) {
          distance.set(local, distance.get(at)! + 1);
          queue.push(local);
        }
      }
    }
    longest = Math.max(longest, ...distance.values());
  }
  return longest;
}
