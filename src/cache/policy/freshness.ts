// Freshness (RFC 9111 4.2): how long a stored response stays fresh, how old it is, and whether a
// stale one may be served or must be revalidated. Times are in seconds.

import { httpDate } from '../../http/date.ts';
import { deltaSeconds, type Directives } from './directives.ts';
import { CACHEABLE_BY_DEFAULT } from './storable.ts';

/** Heuristic freshness (10% of the time since Last-Modified) is capped at one day, as Squid and Varnish do. */
export const HEURISTIC_CAP = 86_400;

export interface LifetimeInput {
  status: number;
  response: Directives;
  /** Date, Expires and Last-Modified header values as received. */
  date: string | undefined;
  expires: string | undefined;
  lastModified: string | undefined;
  /** When the response was received. */
  responseTime: number;
}

/** HTTP-date (the three forms of RFC 9110 5.6.7) → seconds since the epoch; undefined otherwise. */
export function parseHttpDate(text: string | undefined): number | undefined {
  return text === undefined ? undefined : httpDate(text.trim());
}

/** Freshness lifetime for a shared cache: s-maxage, then max-age, then Expires − Date, then the heuristic. */
export function freshnessLifetime(r: LifetimeInput): number {
  const res = r.response;
  const sMaxAge = deltaSeconds(res.get('s-maxage'));
  if (sMaxAge !== undefined) return sMaxAge;
  const maxAge = deltaSeconds(res.get('max-age'));
  if (maxAge !== undefined) return maxAge;
  // a malformed max-age present counts as already stale rather than falling through to Expires
  if (res.has('max-age') || res.has('s-maxage')) return 0;
  if (r.expires !== undefined) {
    const expires = parseHttpDate(r.expires);
    // an invalid Expires, such as "0", means already expired (RFC 9111 5.3)
    if (expires === undefined) return 0;
    const date = parseHttpDate(r.date) ?? r.responseTime;
    return Math.max(0, expires - date);
  }
  if (CACHEABLE_BY_DEFAULT.has(r.status) || res.has('public')) {
    const modified = parseHttpDate(r.lastModified);
    const date = parseHttpDate(r.date) ?? r.responseTime;
    if (modified !== undefined && modified < date) return Math.min(HEURISTIC_CAP, Math.floor((date - modified) / 10));
  }
  return 0;
}

export interface AgeInput {
  /** The Age header received, if any; repeated lines joined with commas. */
  age: string | undefined;
  date: string | undefined;
  requestTime: number;
  responseTime: number;
}

/** corrected_initial_age (RFC 9111 4.2.3): the age when received, counting the upstream's Age and the response delay. */
export function initialAge(r: AgeInput): number {
  const date = parseHttpDate(r.date) ?? r.responseTime;
  const apparent = Math.max(0, r.responseTime - date);
  const corrected = ageValue(r.age) + (r.responseTime - r.requestTime);
  return Math.max(apparent, corrected);
}

/**
 * The Age field's value (RFC 9111 5.1): of a list (`7200, 0`, or two Age lines) the first member
 * counts; a value that is not delta-seconds is ignored (0).
 */
export function ageValue(age: string | undefined): number {
  if (age === undefined) return 0;
  const comma = age.indexOf(',');
  return deltaSeconds((comma === -1 ? age : age.slice(0, comma)).trim()) ?? 0;
}

export function currentAge(initial: number, responseTime: number, now: number): number {
  return initial + Math.max(0, now - responseTime);
}

/** must-revalidate, proxy-revalidate and s-maxage (which implies proxy-revalidate) forbid serving stale. */
export function mustRevalidate(response: Directives): boolean {
  return response.has('must-revalidate') || response.has('proxy-revalidate') || response.has('s-maxage');
}
