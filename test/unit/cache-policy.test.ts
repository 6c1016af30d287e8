// RFC 9111 policy functions, table by table: Cache-Control parsing, storability, freshness
// lifetime, Age, what a stored response may answer, stale-if-error, Vary, invalidation, 304 updates
// and client conditionals, including the awkward cases (max-age=0 vs no-cache, Expires invalid or
// in the past, Date missing, Age from the upstream, s-maxage implying proxy-revalidate).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deltaSeconds, parseCacheControl, qualifiedFields } from '../../src/cache/policy/directives.ts';
import { notStorable, reusableWithAuthorization, type StorableInput } from '../../src/cache/policy/storable.ts';
import { ageValue, currentAge, freshnessLifetime, HEURISTIC_CAP, initialAge, mustRevalidate } from '../../src/cache/policy/freshness.ts';
import { requestDirectives, staleIfError, use } from '../../src/cache/policy/request.ts';
import { normaliseValue, secondaryKey, varyNames } from '../../src/cache/policy/vary.ts';
import { invalidates, invalidationTargets } from '../../src/cache/policy/invalidate.ts';
import { mergeHeaders, notModifiedApplies } from '../../src/cache/policy/update.ts';
import { notModified } from '../../src/cache/policy/conditional.ts';
import { parseTargeted, responseDirectives } from '../../src/cache/policy/targeted.ts';

const cc = parseCacheControl;
const T = Date.UTC(2026, 0, 1, 12, 0, 0) / 1000;
const date = (s: number) => new Date(s * 1000).toUTCString();

describe('Cache-Control parsing', () => {
  const cases: [string, [string, string | true][]][] = [
    ['max-age=60', [['max-age', '60']]],
    ['Max-Age=60, PUBLIC', [['max-age', '60'], ['public', true]]],
    ['no-cache="Set-Cookie, X-Foo", max-age=5', [['no-cache', 'Set-Cookie, X-Foo'], ['max-age', '5']]],
    ['max-age=1, max-age=100', [['max-age', '1']]],
    [' , no-store ,, ', [['no-store', true]]],
    ['private="a\\"b"', [['private', 'a"b']]],
    ['s-maxage = 10', [['s-maxage', '10']]],
  ];
  for (const [text, want] of cases) {
    it(text, () => assert.deepEqual([...cc(text)], want));
  }
  it('joins repeated header lines', () => assert.deepEqual([...cc(['max-age=5', 'public'])], [['max-age', '5'], ['public', true]]));
  it('delta-seconds rejects junk and clamps', () => {
    assert.equal(deltaSeconds('10'), 10);
    assert.equal(deltaSeconds('-1'), undefined);
    assert.equal(deltaSeconds('1.5'), undefined);
    assert.equal(deltaSeconds(true), undefined);
    assert.equal(deltaSeconds('99999999999'), 2 ** 31);
  });
  it('qualified field lists', () => assert.deepEqual(qualifiedFields('Set-Cookie, X-A'), ['set-cookie', 'x-a']));
});

describe('storable (shared cache)', () => {
  const base: StorableInput = {
    method: 'GET', status: 200, request: cc(''), response: cc(''), authorization: false,
    hasExpires: false, hasSetCookie: false, vary: undefined, storeSetCookie: false,
  };
  const cases: [string, Partial<StorableInput>, string | undefined][] = [
    ['200 with no directives (heuristically cacheable)', {}, undefined],
    ['POST', { method: 'POST' }, 'method'],
    ['HEAD is served from GET, not stored', { method: 'HEAD' }, 'method'],
    ['206 partial', { status: 206 }, 'status'],
    ['304', { status: 304 }, 'status'],
    ['302 without freshness', { status: 302 }, 'no-explicit-freshness'],
    ['302 with max-age', { status: 302, response: cc('max-age=60') }, undefined],
    ['500 with Expires', { status: 500, hasExpires: true }, undefined],
    ['404 by default', { status: 404 }, undefined],
    ['response no-store', { response: cc('no-store, max-age=60') }, 'no-store'],
    ['request no-store', { request: cc('no-store') }, 'no-store'],
    ['must-understand overrides no-store for a known status', { response: cc('must-understand, no-store, max-age=60') }, undefined],
    ['must-understand with an unknown status', { status: 299, response: cc('must-understand, no-store') }, 'status'],
    ['private', { response: cc('private, max-age=60') }, 'private'],
    ['private="field" is storable (field dropped)', { response: cc('private="x-user", max-age=60') }, undefined],
    ['no-cache is storable (revalidated on use)', { response: cc('no-cache') }, undefined],
    ['Authorization without permission', { authorization: true, response: cc('max-age=60') }, 'authorization'],
    ['Authorization with public', { authorization: true, response: cc('public') }, undefined],
    ['Authorization with s-maxage', { authorization: true, response: cc('s-maxage=10') }, undefined],
    ['Authorization with must-revalidate', { authorization: true, response: cc('must-revalidate, max-age=10') }, undefined],
    ['Set-Cookie by default', { hasSetCookie: true, response: cc('max-age=60') }, 'set-cookie'],
    ['Set-Cookie allowed by the route', { hasSetCookie: true, storeSetCookie: true }, undefined],
    ['Vary: *', { vary: 'Accept, *' }, 'vary-star'],
    ['Vary: Accept', { vary: 'Accept' }, undefined],
  ];
  for (const [name, patch, want] of cases) {
    it(name, () => assert.equal(notStorable({ ...base, ...patch }), want));
  }
});

describe('reuse for a request with Authorization', () => {
  it('only public, must-revalidate or s-maxage responses', () => {
    assert.ok(reusableWithAuthorization(cc('public, max-age=5')));
    assert.ok(reusableWithAuthorization(cc('must-revalidate')));
    assert.ok(reusableWithAuthorization(cc('s-maxage=5')));
    assert.ok(!reusableWithAuthorization(cc('max-age=5')));
  });
});

describe('freshness lifetime', () => {
  const at = (response: string, headers: { date?: string; expires?: string; lastModified?: string } = {}, status = 200) =>
    freshnessLifetime({ status, response: cc(response), date: headers.date, expires: headers.expires, lastModified: headers.lastModified, responseTime: T });
  it('s-maxage wins over max-age and Expires', () => assert.equal(at('max-age=10, s-maxage=20', { expires: date(T + 100), date: date(T) }), 20));
  it('max-age wins over Expires', () => assert.equal(at('max-age=10', { expires: date(T + 100), date: date(T) }), 10));
  it('max-age=0 is zero', () => assert.equal(at('max-age=0'), 0));
  it('a malformed max-age is stale, not a fall-through to Expires', () => assert.equal(at('max-age=abc', { expires: date(T + 100) }), 0));
  it('Expires − Date', () => assert.equal(at('', { expires: date(T + 100), date: date(T - 20) }), 120));
  it('Expires in the past', () => assert.equal(at('', { expires: date(T - 100), date: date(T) }), 0));
  it('Expires invalid ("0") means already expired', () => assert.equal(at('', { expires: '0', lastModified: date(T - 1000) }), 0));
  it('Date missing: the receive time stands in', () => assert.equal(at('', { expires: date(T + 30) }), 30));
  it('heuristic: 10% of the Last-Modified age', () => assert.equal(at('', { date: date(T), lastModified: date(T - 1000) }), 100));
  it('heuristic capped at a day', () => assert.equal(at('', { date: date(T), lastModified: date(T - 100 * 86400) }), HEURISTIC_CAP));
  it('no heuristic for a status not cacheable by default', () => assert.equal(at('', { date: date(T), lastModified: date(T - 1000) }, 302), 0));
  it('heuristic for public on such a status', () => assert.equal(at('public', { date: date(T), lastModified: date(T - 1000) }, 302), 100));
  it('no Last-Modified, no heuristic', () => assert.equal(at(''), 0));
  it('a Last-Modified in the future gives nothing', () => assert.equal(at('', { date: date(T), lastModified: date(T + 1000) }), 0));
});

describe('Age', () => {
  it('counts the upstream Age plus the response delay', () => {
    assert.equal(initialAge({ age: '30', date: date(T), requestTime: T, responseTime: T + 2 }), 32);
  });
  it('apparent age from Date when larger', () => {
    assert.equal(initialAge({ age: undefined, date: date(T - 50), requestTime: T, responseTime: T }), 50);
  });
  it('a Date in the future gives no negative age', () => {
    assert.equal(initialAge({ age: undefined, date: date(T + 50), requestTime: T, responseTime: T }), 0);
  });
  it('Date missing and a junk Age', () => {
    assert.equal(initialAge({ age: 'abc', date: undefined, requestTime: T, responseTime: T + 1 }), 1);
  });
  it('grows with resident time', () => assert.equal(currentAge(5, T, T + 10), 15));
  it('a list-valued Age counts its first member', () => {
    assert.equal(initialAge({ age: '7200, 0', date: undefined, requestTime: T, responseTime: T }), 7200);
  });
});

describe('the Age value (RFC 9111 5.1: first member of a list; invalid ignored)', () => {
  const cases: [string | undefined, number][] = [
    [undefined, 0],
    ['30', 30],
    [' 30 ', 30],
    ['7200, 0', 7200],
    ['7200,0', 7200],
    ['0, 7200', 0],
    // two Age lines, as the stored headers join them
    ['7200, 3', 7200],
    ['abc', 0],
    ['abc, 7200', 0],
    ['-5', 0],
    ['1.5', 0],
    ['', 0],
    [', 7200', 0],
    ['99999999999', 2 ** 31],
  ];
  for (const [age, want] of cases) {
    it(JSON.stringify(age), () => assert.equal(ageValue(age), want));
  }
});

describe('targeted fields (RFC 9213: CDN-Cache-Control as a Structured Fields Dictionary)', () => {
  const cases: [string, [string, string | true][] | undefined][] = [
    ['max-age=60', [['max-age', '60']]],
    ['no-store', [['no-store', true]]],
    ['private, max-age=0', [['private', true], ['max-age', '0']]],
    ['max-age=60,  stale-while-revalidate=30', [['max-age', '60'], ['stale-while-revalidate', '30']]],
    ['no-cache="set-cookie"', [['no-cache', 'set-cookie']]],
    ['no-store=?1, public=?0', [['no-store', true]]],
    ['max-age=1, max-age=100', [['max-age', '100']]],
    ['max-age=10;x=1', [['max-age', '10']]],
    ['max-age=1.5', [['max-age', '1.5']]],
    ['s-maxage=tok', [['s-maxage', 'tok']]],
    ['  max-age=5', [['max-age', '5']]],
    // parse errors: the whole field is ignored
    ['', undefined],
    ['   ', undefined],
    ['Max-Age=60', undefined],
    ['max-age = 60', undefined],
    ['max-age=60,', undefined],
    ['max-age=60,,no-store', undefined],
    ['max-age=60 no-store', undefined],
    ['max-age="60', undefined],
    ['max-age=60abc', undefined],
    ['max-age=1234567890123456', undefined],
    ['max-age=(1 2)', undefined],
    ['max-age=:aGk=:', undefined],
    ['no-store=?2', undefined],
    ['private="a\\qb"', undefined],
  ];
  for (const [text, want] of cases) {
    it(JSON.stringify(text), () => assert.deepEqual(parseTargeted(text) === undefined ? undefined : [...parseTargeted(text)!], want));
  }
  it('a valid targeted field wins over Cache-Control', () => {
    const r = responseDirectives('no-store', 'max-age=60');
    assert.equal(r.targeted, true);
    assert.deepEqual([...r.directives], [['max-age', '60']]);
  });
  it('an invalid one falls back to Cache-Control', () => {
    const r = responseDirectives('max-age=5', 'Max-Age=60');
    assert.equal(r.targeted, false);
    assert.deepEqual([...r.directives], [['max-age', '5']]);
  });
  it('absent: Cache-Control', () => assert.deepEqual(responseDirectives('no-store', undefined), { directives: cc('no-store'), targeted: false }));
  it('its no-store makes it unstorable whatever Cache-Control says', () => {
    const { directives } = responseDirectives('public, max-age=600', 'no-store');
    assert.equal(notStorable({ method: 'GET', status: 200, request: cc(''), response: directives, authorization: false, hasExpires: false, hasSetCookie: false, vary: undefined, storeSetCookie: false }), 'no-store');
  });
});

describe('using a stored response', () => {
  const stored = (response: string, lifetime: number, age: number) => ({ response: cc(response), lifetime, age });
  const none = cc('');
  const opts = { updating: false };
  const cases: [string, ReturnType<typeof stored>, string, string][] = [
    ['fresh', stored('max-age=60', 60, 10), '', 'fresh'],
    ['stale', stored('max-age=60', 60, 61), '', 'revalidate'],
    ['exactly at the lifetime is stale', stored('max-age=60', 60, 60), '', 'revalidate'],
    ['response no-cache: always revalidate, even when fresh', stored('no-cache, max-age=60', 60, 0), '', 'revalidate'],
    ['response no-cache even with max-stale', stored('no-cache', 0, 5), 'max-stale', 'revalidate'],
    ['max-age=0 response: stale, may be served with max-stale', stored('max-age=0', 0, 1), 'max-stale', 'stale-ok'],
    ['request no-cache', stored('max-age=60', 60, 1), 'no-cache', 'revalidate'],
    ['request max-age=0', stored('max-age=60', 60, 1), 'max-age=0', 'revalidate'],
    ['request max-age above the age', stored('max-age=60', 60, 5), 'max-age=10', 'fresh'],
    ['request min-fresh not met', stored('max-age=60', 60, 55), 'min-fresh=10', 'revalidate'],
    ['request min-fresh met', stored('max-age=60', 60, 40), 'min-fresh=10', 'fresh'],
    ['request min-fresh met exactly', stored('max-age=60', 60, 50), 'min-fresh=10', 'fresh'],
    ['max-stale with a bound, within', stored('max-age=60', 60, 65), 'max-stale=10', 'stale-ok'],
    ['max-stale with a bound, past', stored('max-age=60', 60, 75), 'max-stale=10', 'revalidate'],
    ['must-revalidate forbids max-stale', stored('max-age=60, must-revalidate', 60, 65), 'max-stale', 'revalidate'],
    ['proxy-revalidate forbids max-stale', stored('max-age=60, proxy-revalidate', 60, 65), 'max-stale', 'revalidate'],
    ['s-maxage implies proxy-revalidate', stored('s-maxage=60', 60, 65), 'max-stale', 'revalidate'],
    ['stale-while-revalidate within', stored('max-age=60, stale-while-revalidate=30', 60, 80), '', 'background'],
    ['stale-while-revalidate past', stored('max-age=60, stale-while-revalidate=30', 60, 95), '', 'revalidate'],
    ['stale-while-revalidate with must-revalidate', stored('max-age=60, stale-while-revalidate=30, must-revalidate', 60, 80), '', 'revalidate'],
  ];
  for (const [name, s, request, want] of cases) {
    it(name, () => assert.equal(use(s, request === '' ? none : cc(request), opts), want));
  }
  it('use_stale updating serves stale in the background without the directive', () => {
    assert.equal(use(stored('max-age=60', 60, 500), none, { updating: true }), 'background');
    assert.equal(use(stored('max-age=60, must-revalidate', 60, 500), none, { updating: true }), 'revalidate');
  });
  it('Pragma: no-cache counts only without Cache-Control', () => {
    assert.ok(requestDirectives(cc(''), 'no-cache').has('no-cache'));
    assert.ok(!requestDirectives(cc('max-age=5'), 'no-cache').has('no-cache'));
    assert.ok(!requestDirectives(cc(''), 'x-no-cache-y').has('no-cache'));
  });
});

describe('stale-if-error', () => {
  const s = (response: string, lifetime: number, age: number) => ({ response: cc(response), lifetime, age });
  it('response directive within its window', () => assert.ok(staleIfError(s('max-age=10, stale-if-error=60', 10, 30), cc(''), false)));
  it('response directive past its window', () => assert.ok(!staleIfError(s('max-age=10, stale-if-error=60', 10, 100), cc(''), false)));
  it('request directive', () => assert.ok(staleIfError(s('max-age=10', 10, 30), cc('stale-if-error=60'), false)));
  it('route use_stale error without directives', () => assert.ok(staleIfError(s('max-age=10', 10, 1000), cc(''), true)));
  it('must-revalidate forbids it, even with use_stale', () => assert.ok(!staleIfError(s('max-age=10, must-revalidate, stale-if-error=60', 10, 30), cc(''), true)));
  it('s-maxage forbids it', () => assert.ok(!staleIfError(s('s-maxage=10, stale-if-error=60', 10, 30), cc(''), true)));
  it('no-cache forbids it', () => assert.ok(!staleIfError(s('no-cache, stale-if-error=60', 0, 1), cc(''), true)));
  it('nothing allows it', () => assert.ok(!staleIfError(s('max-age=10', 10, 30), cc(''), false)));
});

describe('Vary', () => {
  it('names lower-cased, de-duplicated, sorted', () => assert.deepEqual(varyNames('Accept-Language, accept-encoding,ACCEPT-LANGUAGE'), ['accept-encoding', 'accept-language']));
  it('* never matches', () => assert.equal(varyNames('Accept, *'), '*'));
  it('none', () => assert.deepEqual(varyNames(undefined), []));
  it('Accept-Encoding is case- and order-insensitive', () => assert.equal(normaliseValue('accept-encoding', 'GZIP, br'), normaliseValue('accept-encoding', 'br,gzip')));
  it('spacing around commas and semicolons does not matter', () => assert.equal(normaliseValue('accept-language', 'en ; q=0.5 ,fr'), normaliseValue('accept-language', 'en;q=0.5, fr')));
  it('order matters where it may carry meaning', () => assert.notEqual(normaliseValue('x-custom', 'a, b'), normaliseValue('x-custom', 'b, a')));
  it('absent differs from empty', () => assert.notEqual(secondaryKey(['x-a'], {}), secondaryKey(['x-a'], { 'x-a': '' })));
  it('multiple lines join as one list', () => assert.equal(normaliseValue('accept', ['text/html', 'text/plain']), normaliseValue('accept', 'text/html, text/plain')));
});

describe('invalidation', () => {
  it('unsafe methods with a non-error status', () => {
    assert.ok(invalidates('POST', 201));
    assert.ok(invalidates('DELETE', 204));
    assert.ok(invalidates('PUT', 303));
    assert.ok(!invalidates('POST', 500));
    assert.ok(!invalidates('POST', 404));
    assert.ok(!invalidates('GET', 200));
    assert.ok(!invalidates('OPTIONS', 200));
  });
  it('targets: the URI, Location and Content-Location on the same origin', () => {
    assert.deepEqual(invalidationTargets('http://a.example/items?x=1', '/items/7', 'http://a.example/items/7/view'),
      ['http://a.example/items?x=1', 'http://a.example/items/7', 'http://a.example/items/7/view']);
  });
  it('another origin is never invalidated', () => {
    assert.deepEqual(invalidationTargets('http://a.example/x', 'http://b.example/x', 'https://a.example/x'), ['http://a.example/x']);
  });
  it('junk Location is ignored', () => assert.deepEqual(invalidationTargets('http://a.example/x', 'http://[', undefined), ['http://a.example/x']));
});

describe('304 updates', () => {
  it('applies when the strong ETag matches', () => assert.ok(notModifiedApplies({ etag: '"a"' }, { etag: '"a"' })));
  it('not for another ETag', () => assert.ok(!notModifiedApplies({ etag: '"a"' }, { etag: '"b"' })));
  it('not for a weak ETag', () => assert.ok(!notModifiedApplies({ etag: 'W/"a"' }, { etag: 'W/"a"' })));
  it('by Last-Modified without an ETag', () => assert.ok(notModifiedApplies({ 'last-modified': 'x' }, { 'last-modified': 'x' })));
  it('neither validator in the 304: applies to a stored response that has one', () => {
    assert.ok(notModifiedApplies({ etag: '"a"' }, {}));
    assert.ok(!notModifiedApplies({}, {}));
  });
  it('merges headers but keeps framing and stripped fields', () => {
    const merged = mergeHeaders({ 'cache-control': 'max-age=0', 'content-length': '10', etag: '"a"', 'x-keep': '1' },
      { 'cache-control': 'max-age=60', 'content-length': '0', 'x-new': '2', 'x-secret': 's' }, new Set(['x-secret']));
    assert.deepEqual(merged, { 'cache-control': 'max-age=60', 'content-length': '10', etag: '"a"', 'x-keep': '1', 'x-new': '2' });
  });
});

describe('client conditionals against a stored response', () => {
  const lm = date(T);
  it('If-None-Match, weak comparison', () => assert.ok(notModified('W/"a", "b"', undefined, '"a"', undefined)));
  it('If-None-Match no match wins over a matching If-Modified-Since', () => assert.ok(!notModified('"x"', date(T + 10), '"a"', lm)));
  it('If-Modified-Since', () => {
    assert.ok(notModified(undefined, date(T), undefined, lm));
    assert.ok(!notModified(undefined, date(T - 1), undefined, lm));
  });
  it('nothing to compare', () => assert.ok(!notModified(undefined, undefined, '"a"', lm)));
  it('* matches anything stored', () => assert.ok(notModified('*', undefined, '"a"', undefined)));
});

describe('mustRevalidate', () => {
  it('flags', () => {
    assert.ok(mustRevalidate(cc('must-revalidate')));
    assert.ok(mustRevalidate(cc('proxy-revalidate')));
    assert.ok(mustRevalidate(cc('s-maxage=5')));
    assert.ok(!mustRevalidate(cc('max-age=5')));
  });
});
