// rate_limit and conn_limit as a route applies them: the key of a request, the bucket it takes a
// token from, the count of its requests in progress.

import type { IncomingHttpHeaders } from 'node:http';
import type { ConnLimitConfig, RateLimitConfig } from '../config/access-schema.ts';
import type { RedisSettings } from '../tls/storage/redis-url.ts';
import { FleetRate } from './fleet-rate.ts';
import { TokenBuckets } from './token-bucket.ts';

export type KeyOf = (client: string, headers: IncomingHttpHeaders) => string;

export function keyOf(key: string): KeyOf {
  if (key === 'client_ip') return (client) => client;
  const name = key.slice('header:'.length);
  return (client, headers) => {
    const value = headers[name];
    // without the header, the client's own bucket: leaving it out is no way around the limit
    return value === undefined ? `ip:${client}` : `h:${Array.isArray(value) ? value.join(',') : value}`;
  };
}

export class RateLimit {
  readonly key: KeyOf;
  private readonly buckets: TokenBuckets;
  private readonly fleet: FleetRate | undefined;

  /** `fleet`: the Redis of storage: redis://..., where the fleet's instances count together; `name` the route's. */
  constructor(config: RateLimitConfig, fleet?: { settings: RedisSettings; name: string }) {
    this.key = keyOf(config.key);
    this.buckets = new TokenBuckets(config.per_second, config.burst);
    this.fleet = fleet && new FleetRate(fleet.settings, fleet.name, config);
  }

  /** 0: go on; else the seconds a client should wait (Retry-After). */
  check(key: string): number | Promise<number> {
    if (this.fleet) return this.fleet.check(key);
    const wait = this.buckets.take(key, performance.now());
    return wait === 0 ? 0 : Math.max(1, Math.ceil(wait / 1000));
  }
}

export class ConnLimit {
  readonly key: KeyOf;
  private readonly max: number;
  private readonly inProgress = new Map<string, number>();

  constructor(config: ConnLimitConfig) {
    this.key = keyOf(config.key);
    this.max = config.max;
  }

  /** A release function when there is room for one more of `key`, else undefined. */
  enter(key: string): (() => void) | undefined {
    const n = this.inProgress.get(key) ?? 0;
    if (n >= this.max) return undefined;
    this.inProgress.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.inProgress.get(key)! - 1;
      if (left === 0) this.inProgress.delete(key);
      else this.inProgress.set(key, left);
    };
  }
}
