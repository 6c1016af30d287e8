// random: a weighted random pick; no shared state, so it suits several edges in front of one pool.

import { weightedRandom, type Candidate, type PickRequest, type Policy, type Random } from './policy.ts';

export class RandomPick implements Policy {
  private readonly random: Random;

  constructor(random: Random = Math.random) {
    this.random = random;
  }

  select<C extends Candidate>(pool: readonly C[], _req?: PickRequest): C | undefined {
    return weightedRandom(pool, this.random);
  }
}
