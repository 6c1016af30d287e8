// Whether a response may be stored by a shared cache (RFC 9111 3, 3.5) and edge's own rules on top
// (Set-Cookie, Vary: *). Returns the reason it may not, for the Cache-Status "detail" and tests.

import type { Directives } from './directives.ts';

/** Status codes heuristically cacheable (RFC 9110 15.1) that edge stores. 206 is left out: edge stores whole bodies only. */
export const CACHEABLE_BY_DEFAULT = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

/** Status codes whose caching semantics edge implements, for must-understand (RFC 9111 5.2.2.3). */
const UNDERSTOOD = new Set([200, 203, 204, 300, 301, 302, 303, 307, 308, 404, 405, 410, 414, 501]);

export interface StorableInput {
  method: string;
  status: number;
  request: Directives;
  response: Directives;
  /** The request carried Authorization. */
  authorization: boolean;
  hasExpires: boolean;
  hasSetCookie: boolean;
  /** The Vary header's value, if any. */
  vary: string | undefined;
  /** The route allows storing responses that set cookies. */
  storeSetCookie: boolean;
}

export type NotStorable =
  | 'method' | 'status' | 'no-store' | 'private' | 'authorization' | 'no-explicit-freshness' | 'set-cookie' | 'vary-star';

export function notStorable(r: StorableInput): NotStorable | undefined {
  if (r.method !== 'GET') return 'method';
  if (r.status < 200 || r.status === 206 || r.status === 304) return 'status';
  const res = r.response;
  if (res.has('must-understand')) {
    // must-understand overrides no-store for the status codes a cache implements
    if (!UNDERSTOOD.has(r.status)) return 'status';
  } else if (res.has('no-store')) {
    return 'no-store';
  }
  if (r.request.has('no-store')) return 'no-store';
  // unqualified private: a shared cache must not store it; private="field" only drops that field
  if (res.get('private') === true) return 'private';
  if (r.authorization && !reusableWithAuthorization(res)) return 'authorization';
  const explicit = res.has('public') || res.has('max-age') || res.has('s-maxage') || r.hasExpires;
  if (!explicit && !CACHEABLE_BY_DEFAULT.has(r.status)) return 'no-explicit-freshness';
  if (r.hasSetCookie && !r.storeSetCookie) return 'set-cookie';
  if (r.vary !== undefined && r.vary.split(',').some((v) => v.trim() === '*')) return 'vary-star';
  return undefined;
}

/**
 * A stored response may answer a request with Authorization only if it was one a shared cache may
 * store for such requests (RFC 9111 3.5): public, must-revalidate or s-maxage.
 */
export function reusableWithAuthorization(response: Directives): boolean {
  return response.has('public') || response.has('must-revalidate') || response.has('s-maxage');
}
