// round_robin: nginx's smooth weighted round robin. Each pick, every available upstream gains its
// weight; the one with the most is chosen and pays back the total. Weights 5:1:1 give
// a a b a c a a rather than a a a a a b c, so no upstream gets a burst.

import type { Candidate, PickRequest, Policy } from './policy.ts';

export class RoundRobin implements Policy {
  private readonly current = new Map<string, number>();

  select<C extends Candidate>(pool: readonly C[], _req?: PickRequest): C | undefined {
    let best: C | undefined;
    let bestCurrent = -Infinity;
    let total = 0;
    for (const c of pool) {
      if (!c.available) continue;
      const now = (this.current.get(c.name) ?? 0) + c.weight;
      this.current.set(c.name, now);
      total += c.weight;
      if (now > bestCurrent) {
        best = c;
        bestCurrent = now;
      }
    }
    if (best) this.current.set(best.name, bestCurrent - total);
    return best;
  }
}
