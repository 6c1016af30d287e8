// Whether a response may be compressed on the way out: pure decisions over its status, method and
// headers. Compressing the wrong thing breaks clients (a range of the compressed bytes, a body
// encoded twice, an event stream held back), so each rule here is a case in the unit tests.

/** Below this many bytes (when the length is known) compression saves too little to pay for itself. */
export const MIN_SIZE = 1024;

/** What the policy needs to know about a response head. */
export interface ResponseHead {
  status: number;
  method: string;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  contentLength: number | undefined;
  contentRange: string | undefined;
  cacheControl: string | undefined;
}

const NO_TRANSFORM = /(^|[\s,])no-transform(\s*(,|$))/i;

export type Verdict =
  /** compress it */
  | 'compress'
  /** compress it, flushing after every write (an event stream) */
  | 'stream'
  /** leave it, but say the answer depends on Accept-Encoding */
  | 'vary'
  /** a 304: no body, but its ETag must match the one the compressed 200 had */
  | 'not-modified'
  /** leave it alone */
  | 'skip';

/**
 * The verdict for a response head. "vary" marks responses another client could have got
 * compressed (HEAD of a compressible type), so shared caches keep the versions apart.
 */
export function verdict(head: ResponseHead): Verdict {
  const { status } = head;
  if (status === 304) return 'not-modified';
  if (status < 200 || status === 204 || status === 206) return 'skip';
  if (head.contentEncoding !== undefined && head.contentEncoding.toLowerCase() !== 'identity') return 'skip';
  if (head.contentRange !== undefined) return 'skip';
  if (head.cacheControl !== undefined && NO_TRANSFORM.test(head.cacheControl)) return 'skip';
  const type = mediaType(head.contentType);
  if (type === undefined || !isCompressible(type)) return 'skip';
  if (head.contentLength !== undefined && head.contentLength < MIN_SIZE) return 'skip';
  if (head.method === 'HEAD') return 'vary';
  return type === 'text/event-stream' ? 'stream' : 'compress';
}

/** "Text/HTML; charset=utf-8" → "text/html". */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === '' ? undefined : type;
}

// Types whose bytes are text or text-like. Already-compressed formats (images, video, archives,
// fonts in woff/woff2) gain nothing and cost CPU.
const COMPRESSIBLE = new Set([
  'application/javascript', 'application/ecmascript', 'application/json', 'application/xml',
  'application/xhtml+xml', 'application/rss+xml', 'application/atom+xml', 'application/manifest+json',
  'application/ld+json', 'application/geo+json', 'application/x-javascript', 'application/x-ndjson',
  'application/wasm', 'application/graphql-response+json', 'application/x-www-form-urlencoded',
  'application/vnd.api+json', 'application/problem+json', 'application/x-yaml', 'application/yaml',
  'application/toml', 'application/x-sh', 'application/sql', 'application/rtf', 'application/postscript',
  'image/svg+xml', 'image/x-icon', 'image/vnd.microsoft.icon', 'image/bmp',
  'font/ttf', 'font/otf', 'font/collection', 'application/vnd.ms-fontobject',
]);

export function isCompressible(type: string): boolean {
  if (type.startsWith('text/')) return true;
  if (COMPRESSIBLE.has(type)) return true;
  // application/*+json, *+xml: the structured-syntax suffixes of RFC 6839
  return type.startsWith('application/') && (type.endsWith('+json') || type.endsWith('+xml'));
}

/** Vary with Accept-Encoding added, unless it is there already or Vary is "*". */
export function addVary(vary: string | undefined): string {
  if (vary === undefined || vary.trim() === '') return 'Accept-Encoding';
  for (const token of vary.split(',')) {
    const t = token.trim().toLowerCase();
    if (t === '*' || t === 'accept-encoding') return vary;
  }
  return `${vary}, Accept-Encoding`;
}

/** A strong ETag made weak: the compressed bytes are equivalent to, not the same as, the original's. */
export function weakenEtag(etag: string): string {
  return etag.startsWith('W/') ? etag : `W/${etag}`;
}
