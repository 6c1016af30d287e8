// p2c: power of two choices. Two different upstreams are drawn at random (by weight) and the one
// with fewer requests in flight per unit of weight wins: nearly least_conn's balance without
// every edge herding onto the same least loaded upstream.

import { load, weightedRandom, type Candidate, type PickRequest, type Policy, type Random } from './policy.ts';

export class PowerOfTwo implements Policy {
  private readonly random: Random;

  constructor(random: Random = Math.random) {
    this.random = random;
  }

  select<C extends Candidate>(pool: readonly C[], _req?: PickRequest): C | undefined {
    const a = weightedRandom(pool, this.random);
    if (a === undefined) return undefined;
    const b = weightedRandom(pool, this.random, a);
    if (b === undefined) return a;
    return load(b) < load(a) ? b : a;
  }
}
