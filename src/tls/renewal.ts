// When to renew a certificate, when to retry after a failure, and when to ask the CA's ARI
// endpoint (RFC 9773) again. Pure arithmetic on times: the caller passes `now` and a `random` in
// [0, 1), so every decision is reproducible in tests and the scheduler owns the clock.

import { parseHttpDate } from '../http/date.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Certificates living less than this are renewed at half their lifetime, not at two thirds. */
const SHORT_LIVED = 10 * DAY;
/**
 * The backstop moves up to this share of the lifetime earlier, so servers started together (a
 * fleet, a restored backup) do not all hit the CA in the same second. Only earlier, never later:
 * "a third of the lifetime left" stays a guarantee. 1% is 21.6 h for 90 days, 1.6 h for 160 h.
 */
const BACKSTOP_JITTER = 0.01;

/** Let's Encrypt's ladder for consecutive failed attempts; the last rung repeats for ever. */
const RETRY_LADDER = [MINUTE, 10 * MINUTE, 100 * MINUTE, DAY];

/** "About twice a day", spread over ±1 h so checks from many servers do not line up. */
const ARI_INTERVAL = 12 * HOUR;
const ARI_JITTER = HOUR;
/** RFC 9773 section 4.3.2's example limits: a Retry-After outside them is a server bug. */
const ARI_MIN = MINUTE;
const ARI_MAX = DAY;

export interface Window {
  start: Date;
  end: Date;
}

/**
 * The moment to renew, never before `now` (a result equal to `now` means "renew now").
 *
 * With an ARI window: a uniform random point in the part of the window that is still ahead, as
 * RFC 9773 section 4.2 recommends; a window already over means now. Without one: the backstop,
 * when a third of the lifetime is left (half for certificates living under 10 days), moved up to
 * 1% of the lifetime earlier by `random`.
 */
export function renewalTime(
  cert: { notBefore: Date; notAfter: Date },
  opts: { window?: Window; now: Date; random: number },
): Date {
  const now = opts.now.getTime();
  if (opts.window) {
    const end = opts.window.end.getTime();
    if (end <= now) return new Date(now);
    const start = Math.max(opts.window.start.getTime(), now);
    return new Date(start + opts.random * (end - start));
  }
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  const share = lifetime < SHORT_LIVED ? 1 / 2 : 1 / 3;
  const backstop = cert.notAfter.getTime() - lifetime * share - opts.random * BACKSTOP_JITTER * lifetime;
  return new Date(Math.max(backstop, now));
}

/**
 * How long to wait after the `failures`-th consecutive failure (1 → 1 min, 2 → 10 min,
 * 3 → 100 min, 4 and more → a day), and never less than the server's Retry-After.
 */
export function retryDelay(failures: number, retryAfterMs?: number): number {
  if (!Number.isInteger(failures) || failures < 1) {
    throw new RangeError(`failures must be a whole number from 1, got ${failures}`);
  }
  const step = RETRY_LADDER[Math.min(failures, RETRY_LADDER.length) - 1]!;
  return Math.max(step, retryAfterMs ?? 0);
}

/**
 * When to fetch renewalInfo again: at the server's Retry-After, held within [1 min, 24 h] so a
 * bad header can neither stop the checks nor make us hammer the CA; without one, 12 h ± 1 h.
 */
export function nextAriCheck(opts: { now: Date; retryAfterMs?: number; random: number }): Date {
  const now = opts.now.getTime();
  if (opts.retryAfterMs !== undefined) {
    return new Date(now + Math.min(Math.max(opts.retryAfterMs, ARI_MIN), ARI_MAX));
  }
  return new Date(now + ARI_INTERVAL + (2 * opts.random - 1) * ARI_JITTER);
}

/**
 * A Retry-After header (RFC 9110 section 10.2.3) as milliseconds from `now`: delta-seconds or an
 * HTTP-date (a date already past gives 0). Undefined when absent or invalid, including negative
 * numbers and values too large to be a date.
 */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  let ms: number | undefined;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = parseHttpDate(text, now);
    if (at !== undefined) ms = Math.max(0, at - now.getTime());
  }
  if (ms === undefined || Number.isNaN(new Date(now.getTime() + ms).getTime())) return undefined;
  return ms;
}
