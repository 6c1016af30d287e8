// A stored response: what the policy needs (directives, lifetime, ages, validators) worked out
// once at store time, and the head a hit writes precomputed, so a hit is a look-up and one
// writeHead/end of a Buffer.

import { qualifiedFields, type Directives } from './policy/directives.ts';
import { freshnessLifetime, initialAge } from './policy/freshness.ts';
import { responseDirectives } from './policy/targeted.ts';
import type { StoredHeaders } from './policy/update.ts';

export interface CacheEntry {
  key: string;
  /** scheme://host/path?query of the request that stored it: what purge and invalidation match. */
  url: string;
  status: number;
  headers: StoredHeaders;
  body: Buffer;
  directives: Directives;
  /** Seconds since the epoch (fractional). */
  responseTime: number;
  initialAge: number;
  lifetime: number;
  etag: string | undefined;
  lastModified: string | undefined;
  /** Flat [name, value, ...] head without Age and Cache-Status (and the targeted field edge followed). */
  head: string[];
  /** The head with Age and Cache-Status for hits within one second, reused by every hit in it. */
  hitSecond: number;
  hitHead: string[];
}

/** Never stored: recomputed (Age) or edge's own (Cache-Status). */
const NOT_STORED = new Set(['age', 'cache-status', 'content-length']);

/** Flat raw header list → stored headers (lower-case names, repeats as arrays). */
export function headersFromRaw(raw: readonly string[]): StoredHeaders {
  const out: StoredHeaders = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const prior = out[name];
    if (prior === undefined) out[name] = value;
    else out[name] = Array.isArray(prior) ? [...prior, value] : [prior, value];
  }
  return out;
}

export function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The fields to leave out because of no-cache="..." and private="..." (RFC 9111 5.2.2.4, 5.2.2.7). */
export function strippedFields(directives: Directives): Set<string> {
  return new Set([...qualifiedFields(directives.get('no-cache')), ...qualifiedFields(directives.get('private'))]);
}

/**
 * `targetedField` is the lower-case name of the targeted cache-control field edge follows
 * (cache.cdn_cache_control), or false. It stays in the stored headers, so that a 304 merged into
 * them is judged by the same rules, but not in the head clients get.
 */
export function makeEntry(key: string, url: string, status: number, received: StoredHeaders, body: Buffer, requestTime: number, responseTime: number, targetedField: string | false): CacheEntry {
  const { directives, targeted } = responseDirectives(received['cache-control'], targetedField === false ? undefined : one(received[targetedField]));
  const stripped = strippedFields(directives);
  const headers: StoredHeaders = {};
  for (const name of Object.keys(received)) {
    if (!NOT_STORED.has(name) && !stripped.has(name)) headers[name] = received[name]!;
  }
  const entry: CacheEntry = {
    key, url, status, headers, body, directives, responseTime,
    initialAge: initialAge({ age: one(received.age), date: one(received.date), requestTime, responseTime }),
    lifetime: freshnessLifetime({ status, response: directives, date: one(headers.date), expires: targeted ? undefined : one(headers.expires), lastModified: one(headers['last-modified']), responseTime }),
    etag: one(headers.etag),
    lastModified: one(headers['last-modified']),
    head: [],
    hitSecond: -1,
    hitHead: [],
  };
  entry.head = flatHead(headers, body.length, targeted ? targetedField : false);
  return entry;
}

function flatHead(headers: StoredHeaders, length: number, omit: string | false): string[] {
  const head: string[] = [];
  for (const name of Object.keys(headers)) {
    if (name === omit) continue;
    const v = headers[name]!;
    if (Array.isArray(v)) for (const item of v) head.push(name, item);
    else head.push(name, v);
  }
  head.push('content-length', String(length));
  return head;
}

/** A V8 string's header and alignment, over its characters (one byte each for header text). */
const STRING = 24;
/**
 * Per string, beyond its characters: its slots in the stored head and in the head a hit reuses,
 * and its property in the headers object.
 */
const SLOTS = 40;
/**
 * What an entry costs beyond its strings and body: the entry object, its headers object and
 * directives Map, the Buffer object, lru-cache's slot and the store's URL index. Measured with
 * V8's heap in test/unit/cache-memory.test.ts, which fails when the count drifts from the cost.
 */
const ENTRY_OVERHEAD = 1000;

/** Bytes an entry costs in memory, so that max_size bounds what the cache really holds. */
export function entrySize(e: CacheEntry): number {
  let size = ENTRY_OVERHEAD + e.body.length + e.key.length + e.url.length + 2 * STRING;
  for (let i = 0; i < e.head.length; i++) size += e.head[i]!.length + STRING + SLOTS;
  return size;
}
