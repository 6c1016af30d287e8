// Client conditionals answered from a fresh stored response (RFC 9110 13.1.2, 13.1.3, 13.2.2):
// If-None-Match (weak comparison) wins over If-Modified-Since; a match is a 304.

import { httpDate } from '../../http/date.ts';
import { matches } from '../../static/preconditions.ts';

export function notModified(ifNoneMatch: string | undefined, ifModifiedSince: string | undefined, etag: string | undefined, lastModified: string | undefined): boolean {
  if (ifNoneMatch !== undefined) return etag !== undefined && matches(ifNoneMatch, etag, false);
  if (ifModifiedSince === undefined || lastModified === undefined) return false;
  const since = httpDate(ifModifiedSince);
  const modified = httpDate(lastModified);
  return since !== undefined && modified !== undefined && modified <= since;
}

/** Headers a 304 carries from the stored 200 (RFC 9110 15.4.5). */
export const NOT_MODIFIED_FIELDS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified'];
