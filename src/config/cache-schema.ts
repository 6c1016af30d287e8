// `cache:` on a route or a site: the HTTP cache in front of a proxied route (on a "files, then
// the app" route, in front of the app). A site's cache applies to each of its proxy routes that
// has none of its own, and routes naming the same zone share one store.

import * as z from 'zod';
import { unknownKeyFields } from '../cache/key.ts';
import { duration, size } from './values.ts';

export const USE_STALE = ['error', 'updating'] as const;

// a header name as people write them (RFC 9110 5.1 allows more, but no targeted field needs it)
const FIELD_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*$/;

const names = (what: string) => z.array(z.string().min(1), { error: `expected a list of ${what}` }).default([]);

export const cacheSchema = z.strictObject({
  max_size: size('Memory for stored responses (bodies and heads); least recently used ones are evicted past it.', '256MiB'),
  max_object_size: size('Largest response stored; larger ones are streamed to the client without being buffered or stored.', '8MiB'),
  key: z.string().default('{scheme}://{host}{uri}')
    .superRefine((template, ctx) => {
      for (const name of unknownKeyFields(template)) {
        ctx.addIssue({ code: 'custom', message: `unknown key field {${name}}: use {scheme}, {host}, {uri}, {path}, {query}, {header.NAME} or {cookie.NAME}` });
      }
    })
    .describe('What identifies a stored response, from {scheme}, {host}, {uri} (path and query), {path}, {query}, {header.NAME}, {cookie.NAME}. HEAD uses GET\'s entries. Default "{scheme}://{host}{uri}".'),
  bypass: z.strictObject({
    cookies: names('cookie names').describe('Requests carrying any of these cookies skip the cache (neither served from it nor stored), e.g. [sessionid].'),
    headers: names('header names').describe('Requests carrying any of these headers skip the cache.'),
  }).prefault({}).describe('Requests that go straight to the upstream.'),
  use_stale: z.array(z.enum(USE_STALE, { error: `use_stale entries are ${USE_STALE.join(', ')}` }), { error: 'expected a list, e.g. [error, updating]' })
    .default([])
    .describe('Serve a stale response even without stale-* directives, like nginx\'s proxy_cache_use_stale: "error" when the upstream fails or answers 500/502/503/504, "updating" while one request refreshes it. must-revalidate, proxy-revalidate, s-maxage and no-cache still forbid it. Default [].'),
  store_set_cookie: z.boolean().default(false)
    .describe('Store responses that carry Set-Cookie (every client then gets the cookie). Default false: such responses pass through unstored.'),
  lock_timeout: duration('How long concurrent misses for one key wait for the first one\'s response before going to the upstream themselves.', '5s'),
  cdn_cache_control: z.union([z.literal(false), z.string()], { error: 'expected a header name such as CDN-Cache-Control, or false' })
    .default('CDN-Cache-Control')
    .transform((value, ctx): string | false => {
      if (value === false || value === 'off') return false;
      if (!FIELD_NAME.test(value)) {
        ctx.addIssue({ code: 'custom', message: `bad header name ${JSON.stringify(value)}: use letters, digits and "-", e.g. CDN-Cache-Control` });
        return z.NEVER;
      }
      if (value.toLowerCase() === 'cache-control') {
        ctx.addIssue({ code: 'custom', message: 'Cache-Control is what the targeted field overrides: name another header, e.g. CDN-Cache-Control' });
        return z.NEVER;
      }
      return value.toLowerCase();
    })
    .describe('The targeted cache-control header (RFC 9213) that edge\'s cache follows instead of Cache-Control: when the app sends it with a valid value, its directives (max-age, s-maxage, no-store, no-cache, private, must-revalidate, stale-while-revalidate, stale-if-error, ...) decide, Cache-Control and Expires are ignored by the cache (Cache-Control still reaches the client), and the header itself is not passed on. Another name, e.g. Edge-Cache-Control, targets edge alone; false (or off) turns it off. Default CDN-Cache-Control.'),
  zone: z.string().min(1).optional()
    .describe('Name of the store, shown in metrics and /cache; routes with the same zone share one store (the first one\'s sizes count). Default: the site\'s first host and the route\'s match.'),
}).describe('HTTP cache (RFC 9111) for proxied responses, in memory.');

export type CacheConfig = z.output<typeof cacheSchema> & { zone: string };


/** A route's cache needs a proxy to sit in front of (a static route's is its try_files fallback). */
export function checkRouteCache(route: { cache?: unknown; proxy?: unknown; static?: unknown }, ctx: z.RefinementCtx): void {
  if (route.cache !== undefined && route.proxy === undefined) {
    ctx.addIssue({ code: 'custom', path: ['cache'], message: 'cache applies to proxy routes: put it on a route with proxy: { to: ... }' });
  }
}

interface SiteLike {
  hosts: string[];
  cache?: z.output<typeof cacheSchema> | undefined;
  routes: { match: string; proxy?: unknown; cache?: z.output<typeof cacheSchema> | undefined }[];
}

/** Gives each cache a zone name and hands the site's cache to its proxy routes that have none. */
export function applySiteCache<S extends SiteLike>(site: S): S {
  const host = site.hosts[0] ?? '';
  const shared = site.cache && { ...site.cache, zone: site.cache.zone ?? host };
  for (const route of site.routes) {
    if (route.cache === undefined && shared && route.proxy !== undefined) route.cache = shared;
    else if (route.cache) route.cache = { ...route.cache, zone: route.cache.zone ?? `${host}${route.match}` };
  }
  return site;
}
