// One config's request path: its router with the route actions built from it, the admin routes
// and metric sources those actions contribute, and their cleanup. A reload builds a new generation
// and retires the old one once the requests and WebSockets that started on it are done.

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { AdminRoute } from '../ops/admin.ts';
import type { Logger } from '../ops/log.ts';
import type { MetricSource } from '../ops/metric-sample.ts';
import { CacheRegistry } from '../cache/registry.ts';
import { Pools } from '../proxy/pools.ts';
import { Upstreams } from '../proxy/upstream.ts';
import { tempFiles } from '../proxy/spool.ts';
import { TrustedProxies } from '../http/client-address.ts';
import { isRedisUrl, parseRedisUrl } from '../tls/storage/redis-url.ts';
import type { Action } from './actions.ts';
import { buildAction, type ActionModules, type BuildContext } from './build.ts';
import { InFlight } from './in-flight.ts';
import { Router } from './router.ts';

export class Generation {
  readonly config: Config;
  readonly router: Router<Action>;
  readonly adminRoutes: AdminRoute[] = [];
  readonly metrics: MetricSource[] = [];
  /** Requests and WebSockets that started on this generation. */
  readonly inFlight = new InFlight();
  private readonly closers: (() => void)[] = [];
  private readonly upstreams: Upstreams;
  /** The config's cache zones; the next generation keeps those whose settings are the same. */
  readonly caches: CacheRegistry;
  private retired: Promise<boolean> | undefined;
  /** Whose X-Forwarded-For this config believes; undefined when nobody's (the request path skips it). */
  readonly trust: TrustedProxies | undefined;

  /** `modules`: loadActions(config), awaited by whoever builds the generation; `previous`: the one it replaces. */
  constructor(config: Config, logger: Logger, modules: ActionModules, previous?: Generation) {
    this.config = config;
    this.trust = config.trusted_proxies.length > 0 ? new TrustedProxies(config.trusted_proxies) : undefined;
    this.upstreams = new Upstreams(logger);
    const registry = { logger, adminRoutes: this.adminRoutes, metrics: this.metrics, closers: this.closers };
    // pools (and their health state) belong to the generation: a reload starts them afresh; cache
    // zones whose settings did not change are carried over (the old registry's close only forgets them)
    this.caches = new CacheRegistry(registry, previous?.caches);
    const temp = tempFiles(config.buffering.temp_dir ?? join(tmpdir(), 'edge-buffers'));
    this.metrics.push(() => temp.samples());
    const ctx: BuildContext = { ...registry, limits: config.limits, temp, maxTempFileSize: config.buffering.max_temp_file_size, upstreams: this.upstreams, pools: new Pools(config.upstreams, registry), caches: this.caches, modules, fleet: isRedisUrl(config.storage) ? parseRedisUrl(config.storage) : undefined };
    this.router = new Router<Action>(config.sites, (route, site) => buildAction(route, ctx, site.hosts[0]));
    this.caches.built();
  }

  /**
   * Waits for what started on this generation to finish, up to `graceMs`, then closes its
   * actions and upstream connections. True when nothing had to be cut.
   */
  retire(graceMs: number): Promise<boolean> {
    this.retired ??= this.inFlight.idle(graceMs).then((clean) => {
      for (const close of this.closers) close();
      this.upstreams.destroy();
      return clean;
    });
    return this.retired;
  }
}
