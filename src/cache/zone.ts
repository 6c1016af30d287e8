// A cache zone: one store and its counters, shared by the routes that name it.

import type { CacheStore } from './store.ts';

export interface ZoneStats {
  hits: number;
  misses: number;
  /** Served stale (stale-while-revalidate, max-stale, stale-if-error, use_stale). */
  stale: number;
  bypass: number;
}

export interface Zone {
  name: string;
  store: CacheStore;
  maxSize: number;
  stats: ZoneStats;
  /** The zone's cache settings as text: a reload keeps the zone when they are unchanged. */
  settings: string;
}
