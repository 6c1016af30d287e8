// `cache:` on a route: wraps the route's action (the proxy). GET and HEAD are looked up and served
// from the zone's store when the policy allows, else fetched once per key (others wait on that
// fetch); other methods pass through and, when they succeed, invalidate what they name.

import type { CacheConfig } from '../config/cache-schema.ts';
import type { Fetcher } from '../http/request.ts';
import type { ResponseSink } from '../http/sink.ts';
import type { Action } from '../server/actions.ts';
import { requestHost, type EdgeRequest, type EdgeRes } from '../server/response.ts';
import { cookie, compileKey, requestUrl, scheme, type KeyFunction } from './key.ts';
import { Fetch, type Client, type FetchSettings } from './fetch.ts';
import { parseCacheControl, type Directives } from './policy/directives.ts';
import { requestDirectives, use } from './policy/request.ts';
import { reusableWithAuthorization } from './policy/storable.ts';
import { secondaryKey } from './policy/vary.ts';
import type { CacheRegistry } from './registry.ts';
import { ageOf, gatewayTimeout, serveHit, serveStored } from './serve.ts';
import type { CacheEntry } from './entry.ts';
import { InvalidatingSink } from './unsafe.ts';
import type { Zone } from './zone.ts';

/** The action a cache wraps: it answers clients, and the cache's own requests (misses, revalidations). */
export type Cacheable = Action & Fetcher;

export class CacheAction implements Action {
  private readonly inner: Cacheable;
  private readonly zone: Zone;
  private readonly registry: CacheRegistry;
  private readonly key: KeyFunction;
  private readonly settings: FetchSettings;
  private readonly updating: boolean;
  private readonly bypassCookies: readonly string[];
  private readonly bypassHeaders: readonly string[];
  /** Fetches under way, by key: at most one per key. */
  private readonly inflight = new Map<string, Fetch>();
  readonly upgrade?: Action['upgrade'];

  constructor(inner: Cacheable, config: CacheConfig, zone: Zone, registry: CacheRegistry) {
    this.inner = inner;
    this.zone = zone;
    this.registry = registry;
    this.key = compileKey(config.key);
    this.updating = config.use_stale.includes('updating');
    this.bypassCookies = config.bypass.cookies;
    this.bypassHeaders = config.bypass.headers.map((h) => h.toLowerCase());
    this.settings = {
      inner,
      zone,
      maxObjectSize: config.max_object_size,
      storeSetCookie: config.store_set_cookie,
      useStaleError: config.use_stale.includes('error'),
      lockTimeout: config.lock_timeout,
      targetedField: config.cdn_cache_control,
    };
    this.upgrade = inner.upgrade?.bind(inner);
  }

  describe(): string {
    return `${this.inner.describe()}, cached (zone ${this.zone.name})`;
  }

  handle(req: EdgeRequest, res: EdgeRes, out: ResponseSink): void {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      this.unsafe(req, res, out);
      return;
    }
    if (this.bypassed(req)) {
      this.zone.stats.bypass++;
      res.setHeader('cache-status', 'edge; fwd=bypass');
      this.inner.handle(req, res, out);
      return;
    }
    this.lookup(req, res, out, true);
  }

  private lookup(req: EdgeRequest, res: EdgeRes, out: ResponseSink, mayWait: boolean): void {
    if (res.destroyed || res.writableEnded) return;
    const h = req.headers;
    const request = h['cache-control'] === undefined && h.pragma === undefined ? EMPTY : requestDirectives(parseCacheControl(h['cache-control']), h.pragma);
    const primary = this.key(req);
    const store = this.zone.store;
    const names = store.varyOf(primary);
    const key = names === undefined ? primary : primary + secondaryKey(names, h);
    let entry = store.get(key);
    if (entry && h.authorization !== undefined && !reusableWithAuthorization(entry.directives)) entry = undefined;
    const now = Date.now() / 1000;
    let fwd = names === undefined ? 'uri-miss' : 'vary-miss';
    if (entry) {
      const age = ageOf(entry, now);
      const verdict = use({ response: entry.directives, lifetime: entry.lifetime, age }, request, { updating: this.updating });
      if (verdict === 'fresh') {
        this.zone.stats.hits++;
        serveHit(req, res, out, entry, now);
        return;
      }
      if (verdict === 'stale-ok' || verdict === 'background') {
        this.zone.stats.hits++;
        this.zone.stats.stale++;
        serveStored(req, res, out, entry, now, `edge; hit; ttl=${entry.lifetime - age}`);
        if (verdict === 'background' && !this.inflight.has(key)) this.begin(key, primary, req, request, entry, undefined);
        return;
      }
      fwd = request.has('no-cache') || request.has('max-age') || request.has('min-fresh') ? 'request' : 'stale';
    }
    if (request.has('only-if-cached')) {
      gatewayTimeout(res, out);
      return;
    }
    const running = mayWait ? this.inflight.get(key) : undefined;
    if (running) {
      running.wait(() => this.lookup(req, res, out, false));
      return;
    }
    this.zone.stats.misses++;
    const client: Client = { req, res, out, fwd };
    if (this.inflight.has(key)) {
      // released by lock_timeout, or a response not storable: go alone
      new Fetch(this.settings, key, primary, requestUrl(req), req, request, entry, client).start();
      return;
    }
    this.begin(key, primary, req, request, entry, client);
  }

  private begin(key: string, primary: string, req: EdgeRequest, request: Directives, stored: CacheEntry | undefined, client: Client | undefined): void {
    const fetch = new Fetch(this.settings, key, primary, requestUrl(req), req, request, stored, client);
    this.inflight.set(key, fetch);
    fetch.onDone = () => {
      if (this.inflight.get(key) === fetch) this.inflight.delete(key);
    };
    fetch.start();
  }

  private bypassed(req: EdgeRequest): boolean {
    for (const name of this.bypassHeaders) if (req.headers[name] !== undefined) return true;
    if (this.bypassCookies.length === 0) return false;
    const header = req.headers.cookie;
    if (header === undefined) return false;
    return this.bypassCookies.some((name) => cookie(header, name) !== undefined);
  }

  /** Unsafe methods go through; a 2xx or 3xx answer invalidates the URL, Location and Content-Location. */
  private unsafe(req: EdgeRequest, res: EdgeRes, out: ResponseSink): void {
    const target = `${scheme(req)}://${requestHost(req) ?? ''}${req.url ?? '/'}`;
    res.setHeader('cache-status', 'edge; fwd=method');
    this.inner.handle(req, res, new InvalidatingSink(out, this.registry, req.method!, target));
  }
}

const EMPTY: Directives = new Map();
