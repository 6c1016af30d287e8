// Cache-Control (RFC 9111 5.2) parsed into directives, for requests and responses alike.
// Names are case-insensitive; a quoted value may hold commas (no-cache="Set-Cookie, Foo"); when a
// directive repeats, the first occurrence counts (RFC 9111 4.2.1 allows first-wins).

export type Directives = ReadonlyMap<string, string | true>;

const EMPTY: Directives = new Map();

export function parseCacheControl(header: string | readonly string[] | undefined): Directives {
  if (header === undefined) return EMPTY;
  const text = typeof header === 'string' ? header : header.join(',');
  if (text === '') return EMPTY;
  const out = new Map<string, string | true>();
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && (text[i] === ',' || text[i] === ' ' || text[i] === '\t')) i++;
    let j = i;
    while (j < n && text[j] !== '=' && text[j] !== ',') j++;
    const name = text.slice(i, j).trim().toLowerCase();
    let value: string | true = true;
    if (j < n && text[j] === '=') {
      j++;
      while (j < n && (text[j] === ' ' || text[j] === '\t')) j++;
      if (text[j] === '"') {
        let v = '';
        j++;
        while (j < n && text[j] !== '"') {
          if (text[j] === '\\' && j + 1 < n) j++;
          v += text[j];
          j++;
        }
        j++;
        value = v;
        while (j < n && text[j] !== ',') j++;
      } else {
        const start = j;
        while (j < n && text[j] !== ',') j++;
        value = text.slice(start, j).trim();
      }
    }
    if (name !== '' && !out.has(name)) out.set(name, value);
    i = j + 1;
  }
  return out;
}

/**
 * delta-seconds (RFC 9111 1.2.2): a non-negative integer; undefined when absent or malformed,
 * clamped to 2^31 when larger.
 */
export function deltaSeconds(value: string | true | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d+$/.test(value)) return undefined;
  return Math.min(Number(value), 2 ** 31);
}

/** The field names of a qualified no-cache="a, b" or private="a", lower-cased; [] when unqualified. */
export function qualifiedFields(value: string | true | undefined): string[] {
  if (typeof value !== 'string') return [];
  return value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
}
