// Renewal timing: ARI windows and the lifetime backstop, the retry ladder, the ARI polling
// interval, and Retry-After parsing. Expected values are written out from Let's Encrypt's published
// rules, not recomputed with the module's constants.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nextAriCheck, parseRetryAfter, renewalTime, retryDelay } from '../../src/tls/renewal.ts';

const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;
const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(T0 + ms);
const cert = (lifetime: number) => ({ notBefore: at(0), notAfter: at(lifetime) });

describe('renewalTime without ARI (backstop)', () => {
  const cases: Array<{ name: string; lifetime: number; random: number; want: number }> = [
    // 90 days: a third left is 60 d in; the jitter reaches back up to 1% of 90 d = 21.6 h.
    { name: '90 d, random 0', lifetime: 90 * D, random: 0, want: 60 * D },
    { name: '90 d, random 0.999', lifetime: 90 * D, random: 0.999, want: 60 * D - 0.999 * 21.6 * H },
    // 45 days: 30 d in; jitter up to 10.8 h.
    { name: '45 d, random 0', lifetime: 45 * D, random: 0, want: 30 * D },
    { name: '45 d, random 0.999', lifetime: 45 * D, random: 0.999, want: 30 * D - 0.999 * 10.8 * H },
    // 160 h is under 10 days: renew at half, 80 h in; jitter up to 1.6 h.
    { name: '160 h, random 0', lifetime: 160 * H, random: 0, want: 80 * H },
    { name: '160 h, random 0.999', lifetime: 160 * H, random: 0.999, want: 80 * H - 0.999 * 1.6 * H },
    // The 10-day boundary: exactly 10 d is not short-lived, a minute less is.
    { name: '10 d exactly, thirds', lifetime: 10 * D, random: 0, want: (20 / 3) * D },
    { name: 'just under 10 d, halves', lifetime: 10 * D - MIN, random: 0, want: (10 * D - MIN) / 2 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = renewalTime(cert(c.lifetime), { now: at(0), random: c.random });
      assert.equal(got.getTime(), T0 + c.want);
    });
  }

  it('is never before now: an overdue backstop means renew now', () => {
    const now = at(70 * D);
    assert.equal(renewalTime(cert(90 * D), { now, random: 0.5 }).getTime(), now.getTime());
  });

  it('jitters only earlier, never later than the one-third point', () => {
    for (const random of [0, 0.25, 0.5, 0.75, 0.999]) {
      const got = renewalTime(cert(90 * D), { now: at(0), random }).getTime();
      assert.ok(got <= T0 + 60 * D && got > T0 + 60 * D - 21.6 * H, `random ${random}`);
    }
  });
});

describe('renewalTime with an ARI window', () => {
  const now = at(50 * D);
  const cases: Array<{ name: string; start: number; end: number; random: number; want: number }> = [
    { name: 'future window, random 0: its start', start: 55 * D, end: 57 * D, random: 0, want: 55 * D },
    { name: 'future window, random 0.999: near its end', start: 55 * D, end: 57 * D, random: 0.999, want: 55 * D + 0.999 * 2 * D },
    { name: 'straddling now, random 0: now', start: 49 * D, end: 51 * D, random: 0, want: 50 * D },
    { name: 'straddling now, random 0.999: between now and end', start: 49 * D, end: 51 * D, random: 0.999, want: 50 * D + 0.999 * D },
    { name: 'entirely past, random 0: now', start: 40 * D, end: 45 * D, random: 0, want: 50 * D },
    { name: 'entirely past, random 0.999: now', start: 40 * D, end: 45 * D, random: 0.999, want: 50 * D },
    { name: 'ending exactly now: now', start: 45 * D, end: 50 * D, random: 0.5, want: 50 * D },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const window = { start: at(c.start), end: at(c.end) };
      const got = renewalTime(cert(90 * D), { window, now, random: c.random });
      assert.equal(got.getTime(), T0 + c.want);
    });
  }

  it('follows the window even when it is later than the backstop', () => {
    // The CA knows better (e.g. it is spreading load); the backstop is only for CAs without ARI.
    const window = { start: at(75 * D), end: at(76 * D) };
    assert.equal(renewalTime(cert(90 * D), { window, now: at(0), random: 0 }).getTime(), T0 + 75 * D);
  });

  it('follows the window for a short-lived certificate too', () => {
    const window = { start: at(100 * H), end: at(110 * H) };
    assert.equal(renewalTime(cert(160 * H), { window, now: at(0), random: 0.5 }).getTime(), T0 + 105 * H);
  });
});

describe('retryDelay', () => {
  const ladder = [MIN, 10 * MIN, 100 * MIN, D, D, D];
  for (let failures = 1; failures <= 6; failures++) {
    const step = ladder[failures - 1]!;
    it(`${failures} failure(s): ${step / MIN} min without Retry-After`, () => {
      assert.equal(retryDelay(failures), step);
    });
    it(`${failures} failure(s): a smaller Retry-After (30 s) changes nothing`, () => {
      assert.equal(retryDelay(failures, 30_000), step);
    });
    it(`${failures} failure(s): a 2 h Retry-After wins only over shorter rungs`, () => {
      assert.equal(retryDelay(failures, 2 * H), Math.max(step, 2 * H));
    });
    it(`${failures} failure(s): a 2 d Retry-After always wins`, () => {
      assert.equal(retryDelay(failures, 2 * D), 2 * D);
    });
  }

  it('refuses a failure count that is not a whole number from 1', () => {
    for (const failures of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => retryDelay(failures), RangeError, String(failures));
    }
  });
});

describe('nextAriCheck', () => {
  const now = at(0);
  const cases: Array<{ name: string; retryAfterMs?: number; random: number; want: number }> = [
    { name: 'no Retry-After, random 0: 11 h', random: 0, want: 11 * H },
    { name: 'no Retry-After, random 0.5: 12 h', random: 0.5, want: 12 * H },
    { name: 'no Retry-After, random 0.999: just under 13 h', random: 0.999, want: 12 * H + 0.998 * H },
    { name: 'Retry-After 6 h: 6 h, no jitter', retryAfterMs: 6 * H, random: 0.9, want: 6 * H },
    { name: 'Retry-After 0: clamped up to 1 min', retryAfterMs: 0, random: 0.5, want: MIN },
    { name: 'Retry-After 30 s: clamped up to 1 min', retryAfterMs: 30_000, random: 0.5, want: MIN },
    { name: 'Retry-After exactly 1 min', retryAfterMs: MIN, random: 0.5, want: MIN },
    { name: 'Retry-After exactly 24 h', retryAfterMs: D, random: 0.5, want: D },
    { name: 'Retry-After 3 d: clamped down to 24 h', retryAfterMs: 3 * D, random: 0.5, want: D },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const opts = c.retryAfterMs === undefined ? { now, random: c.random } : { now, random: c.random, retryAfterMs: c.retryAfterMs };
      assert.equal(nextAriCheck(opts).getTime(), T0 + c.want);
    });
  }
});

describe('parseRetryAfter', () => {
  // A Sunday, which the dates below name.
  const now = new Date('2026-03-01T12:00:00Z');
  const cases: Array<[string | undefined, number | undefined]> = [
    ['120', 120_000],
    [' 120 ', 120_000],
    ['0', 0],
    ['Sun, 01 Mar 2026 12:05:00 GMT', 5 * MIN],
    ['Sunday, 01-Mar-26 12:05:00 GMT', 5 * MIN],
    ['Sun Mar  1 12:05:00 2026', 5 * MIN],
    ['Mon, 02 Mar 2026 12:00:00 GMT', D],
    // A date already past means "now".
    ['Sun, 01 Mar 2026 11:00:00 GMT', 0],
    // rfc850's two-digit year 99 is 1999, not 2099 (more than 50 years ahead): past, so 0.
    ['Monday, 01-Mar-99 12:00:00 GMT', 0],
    [undefined, undefined],
    ['', undefined],
    ['soon', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['12 0', undefined],
    ['Sun, 30 Feb 2026 12:00:00 GMT', undefined],
    ['Sun, 01 Mar 2026 25:00:00 GMT', undefined],
    ['Sun, 01 Mar 2026 12:05:00 UTC', undefined],
    ['2026-03-01T12:05:00Z', undefined],
    ['99999999999999999999', undefined],
  ];
  for (const [value, want] of cases) {
    it(`${JSON.stringify(value)} → ${want}`, () => {
      assert.equal(parseRetryAfter(value, now), want);
    });
  }
});
