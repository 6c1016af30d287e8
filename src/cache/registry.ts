// The caches of one config: zones by name, shared by the routes that name them, and what they
// show the outside: GET /cache and POST /cache/purge on the admin endpoint, and metrics samples.
// One registry per config generation, beside its upstream pools; with no cached route it has no
// zones, and GET /cache says so. A reload carries over each zone whose settings did not change,
// entries and counters with it (as nginx keeps its cache across reloads).

import type { CacheConfig } from '../config/cache-schema.ts';
import type { PoolsContext } from '../proxy/pools.ts';
import type { MetricSample } from '../ops/metric-sample.ts';
import { MemoryStore } from './store.ts';
import type { Zone } from './zone.ts';

export class CacheRegistry {
  readonly zones = new Map<string, Zone>();
  /** The previous generation's zones with the settings they were made with, for a reload to keep. */
  private previous: ReadonlyMap<string, Zone> | undefined;

  constructor(ctx: PoolsContext, previous?: CacheRegistry) {
    this.previous = previous?.zones;
    this.register(ctx);
  }

  /** Every route has its zone: the previous generation's unused zones may go (no chain of generations kept alive). */
  built(): void {
    this.previous = undefined;
  }

  zone(config: CacheConfig): Zone {
    let zone = this.zones.get(config.zone);
    if (!zone) {
      const settings = JSON.stringify(config);
      const kept = this.previous?.get(config.zone);
      zone = kept?.settings === settings ? kept : {
        settings,
        name: config.zone,
        store: new MemoryStore(config.max_size, config.max_object_size),
        maxSize: config.max_size,
        stats: { hits: 0, misses: 0, stale: 0, bypass: 0 },
      };
      this.zones.set(config.zone, zone);
    }
    return zone;
  }

  /**
   * Removes what is stored for `url` (or, with `prefix`, every URL starting with it) in every
   * zone. A URL without a scheme matches both http and https.
   */
  purge(url: string, prefix: boolean): number {
    const targets = /^https?:\/\//i.test(url) ? [url] : [`http://${url}`, `https://${url}`];
    let n = 0;
    for (const zone of this.zones.values()) for (const t of targets) n += zone.store.purge(normalise(t), prefix);
    return n;
  }

  stats(): object[] {
    return [...this.zones.values()].map((z) => ({
      zone: z.name,
      entries: z.store.count,
      bytes: z.store.bytes,
      max_size: z.maxSize,
      ...z.stats,
    }));
  }

  samples(): MetricSample[] {
    const out: MetricSample[] = [];
    for (const z of this.zones.values()) {
      const labels = { zone: z.name };
      out.push(
        { name: 'edge_cache_hits_total', help: 'Requests answered from the cache.', type: 'counter', labels, value: z.stats.hits },
        { name: 'edge_cache_misses_total', help: 'Cacheable requests sent to the upstream (misses and revalidations).', type: 'counter', labels, value: z.stats.misses },
        { name: 'edge_cache_stale_total', help: 'Stale responses served (stale-while-revalidate, stale-if-error, use_stale).', type: 'counter', labels, value: z.stats.stale },
        { name: 'edge_cache_bypass_total', help: 'Requests that skipped the cache by a bypass rule.', type: 'counter', labels, value: z.stats.bypass },
        { name: 'edge_cache_bytes', help: 'Bytes held by the cache.', type: 'gauge', labels, value: z.store.bytes },
        { name: 'edge_cache_entries', help: 'Responses held by the cache.', type: 'gauge', labels, value: z.store.count },
      );
    }
    return out;
  }

  private register(ctx: PoolsContext): void {
    ctx.adminRoutes.push(
      { method: 'GET', path: '/cache', handle: () => ({ status: 200, body: { zones: this.stats() } }) },
      {
        method: 'POST',
        path: '/cache/purge',
        handle: (query) => {
          const url = query.get('url');
          if (!url) return { status: 400, body: { error: 'say which URL: /cache/purge?url=https://example.com/path[&prefix=1]' } };
          const prefix = query.get('prefix') === '1' || query.get('prefix') === 'true';
          const purged = this.purge(url, prefix);
          ctx.logger.info(`admin: cache purge of ${url}${prefix ? ' (prefix)' : ''}: ${purged} removed`);
          return { status: 200, body: { url, prefix, purged } };
        },
      },
    );
    ctx.metrics.push(() => this.samples());
    ctx.closers.push(() => this.zones.clear());
  }
}

/** Scheme and host as keys have them: lower case, no port. */
function normalise(url: string): string {
  const m = /^([a-z]+:\/\/)([^/?]*)(.*)$/i.exec(url);
  if (!m) return url;
  const host = m[2]!.toLowerCase().replace(/:\d+$/, '');
  return m[1]!.toLowerCase() + host + m[3]!;
}
