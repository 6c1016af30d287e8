// Vary (RFC 9111 4.1): the request headers a stored response was selected by, and the secondary
// key built from them, with values normalised where their syntax allows (case of tokens, list
// spacing, the order of Accept-Encoding codings) so equivalent requests share one entry.

import type { IncomingHttpHeaders } from 'node:http';

/** Lower-cased, de-duplicated, sorted names; '*' when Vary holds `*`; [] for none. */
export function varyNames(vary: string | undefined): string[] | '*' {
  if (vary === undefined) return [];
  const names = new Set<string>();
  for (const part of vary.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '*') return '*';
    if (name !== '') names.add(name);
  }
  return [...names].sort();
}

/** Headers whose values are case-insensitive lists. */
const CASE_INSENSITIVE = new Set(['accept-encoding', 'accept-language', 'accept-charset', 'accept']);
/** Lists whose order carries no meaning (preference is in q-values). */
const UNORDERED = new Set(['accept-encoding']);

export function normaliseValue(name: string, value: string | readonly string[] | undefined): string {
  if (value === undefined) return '\u0000'; // absent differs from empty
  const joined = typeof value === 'string' ? value : value.join(',');
  let parts = joined.split(',').map((p) => p.trim().replace(/\s*;\s*/g, ';')).filter((p) => p !== '');
  if (CASE_INSENSITIVE.has(name)) parts = parts.map((p) => p.toLowerCase());
  if (UNORDERED.has(name)) parts.sort();
  return parts.join(',');
}

/** The secondary key for `names` from the request's headers; '' when the response does not vary. */
export function secondaryKey(names: readonly string[], headers: IncomingHttpHeaders): string {
  let key = '';
  for (const name of names) key += `\n${name}:${normaliseValue(name, headers[name])}`;
  return key;
}
