// Which site and route handle a request: hosts (exact, then one-label *.wildcard) and paths
// (prefix, =exact, ~regex; first match wins). Compiled once per config, pure lookups per request.

import type { Route, Site } from '../config/schema.ts';
import { sitePolicy, type SitePolicy } from './site-policy.ts';

export interface RouteEntry<T> {
  /** The pattern as written in the config, for logs. */
  readonly pattern: string;
  readonly route: Route;
  readonly handler: T;
  readonly test: (path: string) => boolean;
}

export interface SiteEntry<T> {
  /** The first host of the site, for logs. */
  readonly name: string;
  readonly site: Site;
  readonly policy: SitePolicy;
  readonly routes: RouteEntry<T>[];
}

export function compileMatch(pattern: string): (path: string) => boolean {
  if (pattern.startsWith('=')) {
    const exact = pattern.slice(1);
    return (path) => path === exact;
  }
  if (pattern.startsWith('~')) {
    const re = new RegExp(pattern.slice(1));
    return (path) => re.test(path);
  }
  if (pattern === '/') return () => true;
  return (path) => path.startsWith(pattern);
}

export class Router<T> {
  private readonly exact = new Map<string, SiteEntry<T>>();
  private readonly wildcard = new Map<string, SiteEntry<T>>();
  /** A site listing "*" (tls: on_demand): every host no other site takes. */
  private any: SiteEntry<T> | undefined;
  readonly sites: SiteEntry<T>[];

  constructor(sites: readonly Site[], build: (route: Route, site: Site) => T) {
    this.sites = sites.map((site) => ({
      name: site.hosts[0]!,
      site,
      policy: sitePolicy(site),
      routes: site.routes.map((route) => ({
        pattern: route.match,
        route,
        handler: build(route, site),
        test: compileMatch(route.match),
      })),
    }));
    for (const entry of this.sites) {
      for (const host of entry.site.hosts) {
        if (host === '*') this.any = entry;
        else if (host.startsWith('*.')) this.wildcard.set(host.slice(2), entry);
        else this.exact.set(host, entry);
      }
    }
  }

  /** The site for a Host header value (any case, with or without port), if edge serves it. */
  site(hostHeader: string | undefined): SiteEntry<T> | undefined {
    if (!hostHeader) return undefined;
    const host = hostName(hostHeader);
    const found = this.exact.get(host);
    if (found !== undefined || (this.wildcard.size === 0 && this.any === undefined)) return found;
    const dot = host.indexOf('.');
    return (dot > 0 ? this.wildcard.get(host.slice(dot + 1)) : undefined) ?? this.any;
  }

  static route<T>(site: SiteEntry<T>, path: string): RouteEntry<T> | undefined {
    const routes = site.routes;
    for (let i = 0; i < routes.length; i++) {
      if (routes[i]!.test(path)) return routes[i];
    }
    return undefined;
  }
}

/** Host header → bare lower-case name: port, IPv6 brackets and a trailing dot removed. */
export function hostName(header: string): string {
  let host = header;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf(']');
    host = close > 0 ? host.slice(1, close) : host;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0) host = host.slice(0, colon);
  }
  if (host.charCodeAt(host.length - 1) === 46 /* . */) host = host.slice(0, -1);
  return host.toLowerCase();
}
