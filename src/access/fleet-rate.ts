// rate_limit shared by a fleet (storage: redis://...): every instance counts a key in the same
// Redis, through rate-limiter-flexible's RateLimiterRedis (atomic, one round trip), so N
// instances behind a balancer allow `burst` per window in all, not N times it. While Redis is
// down or not ready its insurance limiter counts in this process alone: the local limit goes on,
// and no request waits on Redis. rate-limiter-flexible counts fixed windows of burst/rate seconds
// with `burst` requests each: the same average rate and burst as the local token bucket.

import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitConfig } from '../config/access-schema.ts';
import { connectionOptions, type RedisSettings } from '../tls/storage/redis-url.ts';

const require = createRequire(import.meta.url);
const clients = new Map<string, Redis>();

/** One connection per Redis per process, shared by every route and config generation. */
function clientFor(settings: RedisSettings): Redis {
  let client = clients.get(settings.display);
  if (client) return client;
  const RedisClient = (require('ioredis') as { Redis: typeof Redis }).Redis;
  client = new RedisClient({
    ...connectionOptions(settings),
    // a request never waits for a Redis that is away: the insurance limiter answers instead
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(100 * times, 2000),
  });
  client.on('error', noop);
  clients.set(settings.display, client);
  return client;
}

export class FleetRate {
  private readonly limiter: RateLimiterRedis;

  /** `name` tells this route's counters apart from other routes' (site and match). */
  constructor(settings: RedisSettings, name: string, config: RateLimitConfig) {
    const points = config.burst;
    const duration = Math.max(1, Math.round(config.burst / config.per_second));
    this.limiter = new RateLimiterRedis({
      storeClient: clientFor(settings),
      keyPrefix: `${settings.prefix}rate:${name}`,
      points,
      duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ points, duration, keyPrefix: `local:${name}` }),
    });
  }

  /** 0: go on; else the seconds to wait (Retry-After). */
  async check(key: string): Promise<number> {
    try {
      await this.limiter.consume(key);
      return 0;
    } catch (err) {
      if (err instanceof RateLimiterRes) return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      // neither Redis nor the insurance limiter answered: let the request through
      return 0;
    }
  }
}

function noop(): void {}
