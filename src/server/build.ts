// Route → action: the one place that knows which action classes exist and how they stack
// (static with a proxy fallback, compression around either). Actions that keep state beyond a
// request (upstream pools, caches) register their admin routes, metrics and cleanup in the
// BuildContext, so the instance that owns them can expose and stop them without knowing them.
// Static files, the cache and compression are loaded only for a config whose routes use them.

import type { Config, Limits, Route } from '../config/schema.ts';
import type { AdminRoute } from '../ops/admin.ts';
import type { Logger } from '../ops/log.ts';
import type { MetricSource } from '../ops/metric-sample.ts';
import type { CacheRegistry } from '../cache/registry.ts';
import type { CacheConfig } from '../config/cache-schema.ts';
import { ProxyHandler } from '../proxy/forward.ts';
import type { Pools } from '../proxy/pools.ts';
import type { Upstreams } from '../proxy/upstream.ts';
import type { TempFiles } from '../proxy/spool.ts';
import type { RedisSettings } from '../tls/storage/redis-url.ts';
import { RedirectAction, RespondAction, type Action } from './actions.ts';
import { withRewrite } from './rewrite-action.ts';

export interface BuildContext {
  limits: Limits;
  logger: Logger;
  upstreams: Upstreams;
  /** The temp folder for buffered bodies, and how much of a response it may hold. */
  temp: TempFiles;
  maxTempFileSize: number;
  /** The config's upstream pools, named and inline, with their shared state. */
  pools: Pools;
  /** The config's cache zones, shared by the routes that name them. */
  caches: CacheRegistry;
  /** Admin endpoints contributed by the actions of this config (e.g. GET /upstreams). */
  adminRoutes: AdminRoute[];
  /** Numbers for /metrics (upstream health, cache hits), read at scrape time. */
  metrics: MetricSource[];
  /** Called once when the config these actions belong to is retired (timers, sockets). */
  closers: (() => void)[];
  /** The optional action modules this config's routes use (loadActions). */
  modules: ActionModules;
  /** storage's Redis in fleet mode (rate limits are shared through it), else undefined. */
  fleet?: RedisSettings;
}

export interface ActionModules {
  static?: typeof import('../static/action.ts');
  cache?: typeof import('../cache/action.ts');
  compress?: typeof import('../compress/action.ts');
  access?: typeof import('../access/action.ts');
}

/** Imports the action modules `config` needs, before a generation of it is built. */
export async function loadActions(config: Config): Promise<ActionModules> {
  const routes = config.sites.flatMap((site) => site.routes);
  const [statics, cache, compress, access] = await Promise.all([
    routes.some((r) => r.static) ? import('../static/action.ts') : undefined,
    routes.some((r) => r.cache) ? import('../cache/action.ts') : undefined,
    routes.some((r) => r.compress?.length) ? import('../compress/action.ts') : undefined,
    routes.some(gated) ? import('../access/action.ts') : undefined,
  ]);
  return { static: statics, cache, compress, access };
}

/** A route whose requests pass the access gate first (src/access). */
function gated(route: Route): boolean {
  return route.access !== undefined || route.rate_limit !== undefined || route.conn_limit !== undefined;
}

export function buildAction(route: Route, ctx: BuildContext, site = ''): Action {
  const action = baseAction(route, ctx);
  // compression outside the cache: the store keeps one identity copy for every client
  const compressed = route.compress?.length ? new ctx.modules.compress!.CompressAction(action, route.compress) : action;
  // strip_prefix and rewrite before all of it: the cache keys and the upstream see the new path
  const rewritten = withRewrite(route, compressed, ctx.logger);
  if (!gated(route)) return rewritten;
  // the gate outermost: a refused client reaches neither the rewrite, the cache nor the upstream
  const access = ctx.modules.access!;
  if (!ctx.metrics.includes(access.accessMetrics)) ctx.metrics.push(access.accessMetrics);
  return new access.GateAction(rewritten, route, site, ctx.fleet);
}

function baseAction(route: Route, ctx: BuildContext): Action {
  // a static route may keep a proxy as its try_files fallback (the schema allows it only then);
  // its cache is the app's: files are read from disk (and the file cache) as they are
  if (route.static) return new ctx.modules.static!.StaticAction(route, route.static, route.proxy && cached(route, new ProxyHandler(route, route.proxy, ctx), ctx), ctx);
  if (route.proxy) return cached(route, new ProxyHandler(route, route.proxy, ctx), ctx);
  if (route.redirect) return new RedirectAction(route.redirect);
  return new RespondAction(route.respond!);
}

function cached(route: Route, proxy: ProxyHandler, ctx: BuildContext): Action {
  if (!route.cache) return proxy;
  const config = route.cache as CacheConfig;
  return new ctx.modules.cache!.CacheAction(proxy, config, ctx.caches.zone(config), ctx.caches);
}
