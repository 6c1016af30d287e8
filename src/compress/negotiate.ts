// Accept-Encoding negotiation (RFC 9110 12.5.3) as a pure function: which of the codings the
// server can produce the client prefers, by q-value, the server's order breaking ties.

/** What a client accepts: q-values per coding, as written (lower-cased), and the "*" default. */
export interface Accepted {
  /** coding → q (0-1). "x-gzip" is recorded as gzip. */
  codings: Map<string, number>;
  /** q of "*", if listed. */
  star: number | undefined;
}

const QVALUE = /^[01](\.\d{0,3})?$/;

export function parseAcceptEncoding(header: string): Accepted {
  const codings = new Map<string, number>();
  let star: number | undefined;
  for (const part of header.split(',')) {
    const semi = part.indexOf(';');
    let name = (semi < 0 ? part : part.slice(0, semi)).trim().toLowerCase();
    if (name === '') continue;
    let q = 1;
    if (semi >= 0) {
      const param = part.slice(semi + 1).trim();
      const eq = param.indexOf('=');
      if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
      const value = param.slice(eq + 1).trim();
      // a malformed weight says nothing reliable about the coding: leave the entry out
      if (!QVALUE.test(value) || Number(value) > 1) continue;
      q = Number(value);
    }
    if (name === 'x-gzip') name = 'gzip';
    if (name === '*') star = q;
    // a coding listed twice keeps its first weight
    else if (!codings.has(name)) codings.set(name, q);
  }
  return { codings, star };
}

/** The weight a client gives a coding: its own entry, else "*", else 0. */
export function weightOf(accepted: Accepted, coding: string): number {
  return accepted.codings.get(coding) ?? accepted.star ?? 0;
}

/**
 * The coding to send, from `offered` in the server's order of preference; undefined means none
 * (send identity). With no Accept-Encoding, or an empty one, content is sent unencoded. When even
 * identity is refused (identity;q=0) and nothing offered is acceptable, identity is still what is
 * sent: a 406 helps nobody.
 */
export function chooseEncoding<C extends string>(header: string | undefined, offered: readonly C[]): C | undefined {
  if (header === undefined || header === '') return undefined;
  return chooseFrom(parseCached(header), offered);
}

export function chooseFrom<C extends string>(accepted: Accepted, offered: readonly C[]): C | undefined {
  let best: C | undefined;
  let bestQ = 0;
  for (const coding of offered) {
    const q = weightOf(accepted, coding);
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  if (best === undefined) return undefined;
  // identity competes only when the client weighs it (itself or through "*"): left out, it is
  // acceptable (RFC 9110 12.5.3) but not preferred, or "gzip;q=0.5" would mean "uncompressed"
  const identity = accepted.codings.get('identity') ?? accepted.star;
  return identity === undefined || bestQ >= identity ? best : undefined;
}

// Browsers send a handful of distinct headers: parse each once. Cleared when full, so a client
// inventing new headers costs a parse each, never memory.
const parsed = new Map<string, Accepted>();
const PARSED_MAX = 256;

function parseCached(header: string): Accepted {
  let accepted = parsed.get(header);
  if (accepted === undefined) {
    if (parsed.size >= PARSED_MAX) parsed.clear();
    accepted = parseAcceptEncoding(header);
    parsed.set(header, accepted);
  }
  return accepted;
}
