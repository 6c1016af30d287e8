// rate_limit's decision, pure: a token bucket per key, `burst` tokens deep, refilled at
// `perSecond`. A bucket left alone long enough to fill up is the same as a new one, so buckets
// expire then (an LRU bounds how many keys are remembered: a key pushed out starts full again).

import { LRUCache } from 'lru-cache';

interface Bucket {
  tokens: number;
  at: number;
}

/** Keys remembered at once per route; past it the least recent start afresh. */
const MAX_KEYS = 100_000;

export class TokenBuckets {
  private readonly perMs: number;
  private readonly burst: number;
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(perSecond: number, burst: number) {
    this.perMs = perSecond / 1000;
    this.burst = burst;
    this.buckets = new LRUCache({ max: MAX_KEYS, ttl: Math.ceil(burst / this.perMs), ttlAutopurge: false });
  }

  /** 0 if the request may go (a token taken), else the milliseconds until a token is there. */
  take(key: string, now: number): number {
    const bucket = this.buckets.get(key);
    let tokens = bucket === undefined ? this.burst : Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    if (tokens >= 1) {
      tokens -= 1;
      this.buckets.set(key, { tokens, at: now });
      return 0;
    }
    if (bucket !== undefined) {
      bucket.tokens = tokens;
      bucket.at = now;
    }
    return Math.ceil((1 - tokens) / this.perMs);
  }
}
