// The request-head limit (limits.max_header_size) over HTTP/2, judged as HTTP/1.1 judges it: by
// bytes, not fields. Browsers send each cookie as its own HTTP/2 field, and Node resets a stream
// with ENHANCE_YOUR_CALM past 128 fields or past SETTINGS_MAX_HEADER_LIST_SIZE, before edge
// sees it; so Node's guards are set well above the limit and edge answers 431 itself.

/** Node's guard, as a multiple of the limit: only a flood of tiny fields still meets it. */
const GUARD = 8;
/** What Node (RFC 9113 6.5.2) counts per field besides its name and value. */
const FIELD_OVERHEAD = 32;

export interface H2HeadSettings {
  maxHeaderListPairs: number;
  maxHeaderListSize: number;
}

export function h2HeadSettings(maxHeaderSize: number): H2HeadSettings {
  const maxHeaderListSize = maxHeaderSize * GUARD;
  return { maxHeaderListSize, maxHeaderListPairs: Math.ceil(maxHeaderListSize / FIELD_OVERHEAD) };
}

/**
 * The head's size as HTTP/1.1 would carry it: a `name: value` line per field, and the cookie
 * fields joined into one by "; ", as they go to the upstream (RFC 9113 8.2.3).
 */
export function h2HeadSize(raw: readonly string[]): number {
  let size = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    size += name.length === 6 && name === 'cookie' ? value.length + 2 : name.length + value.length + 4;
  }
  return size;
}
