// Human-readable sizes and durations as written in config files and flags.
// Parsing is strict: anything unclear is an error rather than a guess.

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024, kb: 1000, kib: 1024,
  m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1000 ** 4, tib: 1024 ** 4,
};

const DURATION_UNITS: Record<string, number> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000,
};

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i;
const DURATION_PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/** Bytes from `512`, `16KiB`, `10MB`, `1g`. Returns undefined when the text is not a size. */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  const m = SIZE_RE.exec(input.trim());
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  const factor = unit === '' ? 1 : SIZE_UNITS[unit];
  if (factor === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * factor);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/**
 * Milliseconds from `500ms`, `5s`, `2m`, `1h30m`, `1d`; `off` and `0` mean 0 (disabled).
 * A bare number other than 0 is rejected: `30` could mean seconds or milliseconds.
 */
export function parseDuration(input: string | number): number | undefined {
  if (input === 0 || input === '0' || input === 'off') return 0;
  if (typeof input !== 'string') return undefined;
  const text = input.trim();
  if (text === '') return undefined;
  DURATION_PART_RE.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = DURATION_PART_RE.exec(text); m; m = DURATION_PART_RE.exec(text)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed = DURATION_PART_RE.lastIndex;
  }
  return consumed === text.length ? Math.round(total) : undefined;
}

export function formatSize(bytes: number): string {
  for (const [unit, factor] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return `${bytes}B`;
}

export function formatDuration(ms: number): string {
  if (ms === 0) return 'off';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
