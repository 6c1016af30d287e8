// first: the first available upstream in config order: the others are standbys (ordered failover).

import type { Candidate, PickRequest, Policy } from './policy.ts';

export class First implements Policy {
  select<C extends Candidate>(pool: readonly C[], _req?: PickRequest): C | undefined {
    for (const c of pool) if (c.available) return c;
    return undefined;
  }
}
