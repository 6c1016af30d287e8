// least_conn: the upstream with the fewest requests in flight per unit of weight. Ties are broken
// by a rotating start, so an idle pool is still spread evenly rather than all sent to the first.

import { load, type Candidate, type PickRequest, type Policy } from './policy.ts';

export class LeastConn implements Policy {
  private start = 0;

  select<C extends Candidate>(pool: readonly C[], _req?: PickRequest): C | undefined {
    const n = pool.length;
    if (n === 0) return undefined;
    this.start = (this.start + 1) % n;
    let best: C | undefined;
    let bestLoad = Infinity;
    for (let i = 0; i < n; i++) {
      const c = pool[(this.start + i) % n]!;
      if (c.available && load(c) < bestLoad) {
        best = c;
        bestLoad = load(c);
      }
    }
    return best;
  }
}
