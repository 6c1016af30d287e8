// The Range header (RFC 9110 14.2) for one representation of `size` bytes, as a pure function.
// One range is served; several, another unit or a malformed header are ignored (a full 200),
// which the RFC allows; a range wholly past the end is 416.

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export type RangeResult = ByteRange | 'ignore' | 'unsatisfiable';

const DIGITS = /^\d+$/;

export function parseRange(header: string, size: number): RangeResult {
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return 'ignore';
  const specs = header.slice(eq + 1).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length !== 1) return 'ignore';
  const spec = specs[0]!;
  const dash = spec.indexOf('-');
  if (dash < 0) return 'ignore';
  const first = spec.slice(0, dash).trim();
  const last = spec.slice(dash + 1).trim();
  if (first === '') {
    // "-N": the last N bytes
    if (!DIGITS.test(last)) return 'ignore';
    const n = Number(last);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  if (!DIGITS.test(first) || (last !== '' && !DIGITS.test(last))) return 'ignore';
  const start = Number(first);
  if (last !== '' && Number(last) < start) return 'ignore';
  if (start >= size) return 'unsatisfiable';
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/** The Content-Range of a 206, or of a 416 when `range` is undefined. */
export function contentRange(range: ByteRange | undefined, size: number): string {
  return range === undefined ? `bytes */${size}` : `bytes ${range.start}-${range.end}/${size}`;
}
