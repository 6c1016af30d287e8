// Conditional requests (RFC 9110 13) as pure functions over the request's header values and the
// selected representation's validators, evaluated in the RFC's order of precedence (13.2.2):
// If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since; then If-Range.

import { httpDate } from '../http/date.ts';

export interface Validators {
  /** Strong entity tag, quotes included: "abc". */
  etag: string;
  /** Last modification, whole seconds since the epoch (HTTP dates have no finer grain). */
  modified: number;
}

export interface Conditions {
  ifMatch?: string | undefined;
  ifNoneMatch?: string | undefined;
  ifModifiedSince?: string | undefined;
  ifUnmodifiedSince?: string | undefined;
}

/** proceed: answer normally; not-modified: 304; failed: 412. */
export type Outcome = 'proceed' | 'not-modified' | 'failed';

export function evaluate(method: string, c: Conditions, v: Validators): Outcome {
  if (c.ifMatch !== undefined) {
    if (!matches(c.ifMatch, v.etag, true)) return 'failed';
  } else if (c.ifUnmodifiedSince !== undefined) {
    const since = httpDate(c.ifUnmodifiedSince);
    if (since !== undefined && v.modified > since) return 'failed';
  }
  const read = method === 'GET' || method === 'HEAD';
  if (c.ifNoneMatch !== undefined) {
    if (matches(c.ifNoneMatch, v.etag, false)) return read ? 'not-modified' : 'failed';
  } else if (read && c.ifModifiedSince !== undefined) {
    const since = httpDate(c.ifModifiedSince);
    if (since !== undefined && v.modified <= since) return 'not-modified';
  }
  return 'proceed';
}

/**
 * Whether a Range request may be answered with part of this representation (13.1.5): with no
 * If-Range, yes; with an entity tag, if it matches strongly; with a date, if it is exactly the
 * Last-Modified time. Otherwise the whole representation is sent.
 */
export function ifRangeHolds(ifRange: string | undefined, v: Validators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === v.etag;
  return httpDate(value) === v.modified;
}

/**
 * Whether an If-Match / If-None-Match list names `etag`: "*" names any current representation;
 * strong comparison (If-Match) needs both tags strong and equal, weak (If-None-Match) ignores W/.
 */
export function matches(list: string, etag: string, strong: boolean): boolean {
  if (list.trim() === '*') return true;
  for (const tag of entityTags(list)) {
    const weak = tag.startsWith('W/');
    if (strong && weak) continue;
    if ((weak ? tag.slice(2) : tag) === etag) return true;
  }
  return false;
}

/** The entity tags of a comma-separated list; a tag's quotes may enclose commas. Stops at junk. */
export function entityTags(list: string): string[] {
  const tags: string[] = [];
  let i = 0;
  for (;;) {
    while (i < list.length && (list[i] === ' ' || list[i] === '\t' || list[i] === ',')) i++;
    if (i >= list.length) return tags;
    const start = i;
    if (list.startsWith('W/', i)) i += 2;
    if (list[i] !== '"') return tags;
    const close = list.indexOf('"', i + 1);
    if (close < 0) return tags;
    i = close + 1;
    tags.push(list.slice(start, i));
  }
}
