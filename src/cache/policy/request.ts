// Whether a stored response can answer a request (RFC 9111 4, 4.2.4, 5.2.1) and, once stale, what
// may still be done with it (RFC 5861 stale-while-revalidate and stale-if-error, and the route's
// use_stale option, edge's proxy_cache_use_stale). Times in seconds.

import { deltaSeconds, type Directives } from './directives.ts';
import { mustRevalidate } from './freshness.ts';

export interface StoredState {
  response: Directives;
  lifetime: number;
  age: number;
}

export interface UseOptions {
  /** use_stale: updating — serve stale while one request refreshes it, even without stale-while-revalidate. */
  updating: boolean;
}

/**
 * fresh: serve as is. stale-ok: the client accepts it stale (max-stale). background: serve stale
 * and refresh once in the background. revalidate: ask the upstream first.
 */
export type Use = 'fresh' | 'stale-ok' | 'background' | 'revalidate';

/**
 * Request Cache-Control; a request without one that says `Pragma: no-cache` is treated as
 * `no-cache` (RFC 9111 5.4 leaves Pragma to HTTP/1.0 clients).
 */
export function requestDirectives(cacheControl: Directives, pragma: string | undefined): Directives {
  if (cacheControl.size === 0 && pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(pragma)) return new Map([['no-cache', true]]);
  return cacheControl;
}

export function use(stored: StoredState, request: Directives, opts: UseOptions): Use {
  const res = stored.response;
  // unqualified no-cache: every use needs validation; no-cache="field" only drops that field (at store time)
  if (res.get('no-cache') === true) return 'revalidate';
  if (request.has('no-cache')) return 'revalidate';
  const maxAge = deltaSeconds(request.get('max-age'));
  if (maxAge !== undefined && stored.age > maxAge) return 'revalidate';
  const remaining = stored.lifetime - stored.age;
  const minFresh = deltaSeconds(request.get('min-fresh')) ?? 0;
  if (remaining > 0 && remaining >= minFresh) return 'fresh';
  if (remaining > 0) return 'revalidate'; // fresh, but not for as long as min-fresh asks
  if (mustRevalidate(res)) return 'revalidate';
  const staleness = -remaining;
  const maxStale = request.get('max-stale');
  if (maxStale === true || (maxStale !== undefined && staleness <= (deltaSeconds(maxStale) ?? -1))) return 'stale-ok';
  const swr = deltaSeconds(res.get('stale-while-revalidate'));
  if ((swr !== undefined && staleness <= swr) || opts.updating) return 'background';
  return 'revalidate';
}

/**
 * Whether a stale (or revalidation-needing) stored response may stand in for an upstream that
 * failed or answered 500, 502, 503 or 504: stale-if-error from the response or the request
 * (RFC 5861 4), or the route's use_stale error. must-revalidate and no-cache forbid it (the
 * client gets the error instead, RFC 9111 5.2.2.2).
 */
export function staleIfError(stored: StoredState, request: Directives, routeAllows: boolean): boolean {
  const res = stored.response;
  if (mustRevalidate(res) || res.get('no-cache') === true) return false;
  const staleness = Math.max(0, stored.age - stored.lifetime);
  const fromResponse = deltaSeconds(res.get('stale-if-error'));
  const fromRequest = deltaSeconds(request.get('stale-if-error'));
  if (fromResponse !== undefined && staleness <= fromResponse) return true;
  if (fromRequest !== undefined && staleness <= fromRequest) return true;
  return routeAllows;
}

export const ERROR_STATUSES = new Set([500, 502, 503, 504]);
