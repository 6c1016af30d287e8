// ip_hash, header:NAME, cookie:NAME: the same key goes to the same upstream while it is available.
// Rendezvous (highest random weight) hashing: each upstream scores hash(key, upstream) and the top
// available one wins, so adding an upstream moves only the keys it now wins (about 1/n of them),
// and one going down moves only its own keys. Weighted by -weight / ln(score) (Schindelhauer and
// Schomaker's weighted rendezvous). A request without the key is spread at random.

import { weightedRandom, type Candidate, type PickRequest, type Policy, type Random } from './policy.ts';
import { cookie } from '../../cache/key.ts';

export type KeyOf = (req: PickRequest) => string | undefined;

export class RendezvousHash implements Policy {
  private readonly keyOf: KeyOf;
  private readonly random: Random;

  constructor(keyOf: KeyOf, random: Random = Math.random) {
    this.keyOf = keyOf;
    this.random = random;
  }

  select<C extends Candidate>(pool: readonly C[], req: PickRequest): C | undefined {
    const key = this.keyOf(req);
    if (key === undefined) return weightedRandom(pool, this.random);
    const seed = fnv1a(key, 0x811c9dc5);
    let best: C | undefined;
    let bestScore = -Infinity;
    for (const c of pool) {
      if (!c.available) continue;
      // (0, 1): never 0, whose log is -Infinity
      const unit = (mix(fnv1a(c.name, seed)) + 1) / 4294967297;
      const score = -c.weight / Math.log(unit);
      if (score > bestScore) {
        best = c;
        bestScore = score;
      }
    }
    return best;
  }
}

function fnv1a(text: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's finaliser: FNV alone leaves close keys with close hashes. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const clientKey: KeyOf = (req) => req.client;

export function headerKey(name: string): KeyOf {
  return (req) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
}

export function cookieKey(name: string): KeyOf {
  return (req) => cookie(req.headers.cookie, name);
}
