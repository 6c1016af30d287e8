// Freshening a stored response with a 304 (RFC 9111 3.2, 4.3.4): whether the 304 applies to it
// (its validators agree), and the stored headers with the 304's fields replacing theirs.

/** Header name (lower case) → value(s), as stored. */
export type StoredHeaders = Record<string, string | string[]>;

/** Never taken from a 304: the stored body's framing stays the stored body's. */
const KEPT = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'content-range']);

/**
 * A 304 selects the stored response when its strong ETag matches, or, without an ETag, when its
 * Last-Modified agrees (or it carries neither validator and the stored response has one).
 */
export function notModifiedApplies(stored: StoredHeaders, update: StoredHeaders): boolean {
  const etag = first(update.etag);
  if (etag !== undefined) return !etag.startsWith('W/') && first(stored.etag) === etag;
  const modified = first(update['last-modified']);
  if (modified !== undefined) return first(stored['last-modified']) === modified;
  return first(stored.etag) !== undefined || first(stored['last-modified']) !== undefined;
}

/** The stored headers updated by a 304's, except the framing fields and those the cache strips. */
export function mergeHeaders(stored: StoredHeaders, update: StoredHeaders, stripped: ReadonlySet<string>): StoredHeaders {
  const out: StoredHeaders = { ...stored };
  for (const name of Object.keys(update)) {
    if (KEPT.has(name) || stripped.has(name)) continue;
    out[name] = update[name]!;
  }
  return out;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
