// The pools of one config: named ones (upstreams:, shared by every route naming them) and each
// route's inline one. Owns their health checkers and exposes their state: GET /upstreams on the
// admin endpoint and edge_upstream_* samples for /metrics.

import type { PoolConfig } from '../config/upstream-schema.ts';
import type { AdminRoute } from '../ops/admin.ts';
import type { Logger } from '../ops/log.ts';
import type { MetricSource } from '../ops/metric-sample.ts';
import { HealthChecker } from './health.ts';
import { Pool } from './pool.ts';

/** Where the stateful parts of one config (pools, caches) expose themselves and their cleanup. */
export interface PoolsContext {
  logger: Logger;
  adminRoutes: AdminRoute[];
  metrics: MetricSource[];
  closers: (() => void)[];
}

export class Pools {
  private readonly named: Record<string, PoolConfig>;
  private readonly ctx: PoolsContext;
  private readonly pools = new Map<string, Pool>();

  constructor(named: Record<string, PoolConfig>, ctx: PoolsContext) {
    this.named = named;
    this.ctx = ctx;
    ctx.adminRoutes.push({
      method: 'GET',
      path: '/upstreams',
      handle: () => ({ status: 200, body: { upstreams: [...this.pools.values()].flatMap((p) => p.views()) } }),
    });
    ctx.metrics.push(() => [...this.pools.values()].flatMap((p) => p.samples()));
  }

  /** The shared pool `name` (the config check made sure it exists); created on first use. */
  shared(name: string): Pool {
    return this.pools.get(name) ?? this.add(name, this.named[name]!);
  }

  /** A route's own pool, named after its match pattern. */
  inline(match: string, config: PoolConfig): Pool {
    let name = `route ${match}`;
    for (let n = 2; this.pools.has(name); n++) name = `route ${match} #${n}`;
    return this.add(name, config);
  }

  private add(name: string, config: PoolConfig): Pool {
    const pool = new Pool(name, config, this.ctx.logger);
    this.pools.set(name, pool);
    if (config.health) {
      const checker = new HealthChecker(pool, config.health);
      checker.start();
      this.ctx.closers.push(() => checker.stop());
    }
    return pool;
  }
}
