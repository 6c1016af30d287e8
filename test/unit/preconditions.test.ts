// Conditional requests: each header alone, their precedence (RFC 9110 13.2.2), entity-tag lists,
// HTTP dates, and If-Range.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { entityTags, evaluate, ifRangeHolds, matches, type Conditions, type Outcome } from '../../src/static/preconditions.ts';
import { httpDate } from '../../src/http/date.ts';

const MODIFIED = Date.UTC(2024, 0, 15, 12, 0, 0) / 1000;
const V = { etag: '"abc"', modified: MODIFIED };
const AT = 'Mon, 15 Jan 2024 12:00:00 GMT';
const BEFORE = 'Mon, 15 Jan 2024 11:59:59 GMT';
const AFTER = 'Mon, 15 Jan 2024 12:00:01 GMT';

describe('evaluate: one header at a time', () => {
  const cases: [string, string, Conditions, Outcome][] = [
    ['no conditions', 'GET', {}, 'proceed'],
    ['If-Match the tag', 'GET', { ifMatch: '"abc"' }, 'proceed'],
    ['If-Match another tag', 'GET', { ifMatch: '"xyz"' }, 'failed'],
    ['If-Match in a list', 'GET', { ifMatch: '"x", "abc"' }, 'proceed'],
    ['If-Match *', 'GET', { ifMatch: '*' }, 'proceed'],
    ['If-Match a weak tag: strong comparison fails', 'GET', { ifMatch: 'W/"abc"' }, 'failed'],
    ['If-Unmodified-Since at the time', 'GET', { ifUnmodifiedSince: AT }, 'proceed'],
    ['If-Unmodified-Since after', 'GET', { ifUnmodifiedSince: AFTER }, 'proceed'],
    ['If-Unmodified-Since before', 'GET', { ifUnmodifiedSince: BEFORE }, 'failed'],
    ['If-Unmodified-Since not a date: ignored', 'GET', { ifUnmodifiedSince: 'yesterday' }, 'proceed'],
    ['If-None-Match the tag, GET', 'GET', { ifNoneMatch: '"abc"' }, 'not-modified'],
    ['If-None-Match the tag, HEAD', 'HEAD', { ifNoneMatch: '"abc"' }, 'not-modified'],
    ['If-None-Match the tag, POST', 'POST', { ifNoneMatch: '"abc"' }, 'failed'],
    ['If-None-Match weak form matches (weak comparison)', 'GET', { ifNoneMatch: 'W/"abc"' }, 'not-modified'],
    ['If-None-Match another tag', 'GET', { ifNoneMatch: '"xyz"' }, 'proceed'],
    ['If-None-Match in a list', 'GET', { ifNoneMatch: '"x", W/"abc", "y"' }, 'not-modified'],
    ['If-None-Match *', 'GET', { ifNoneMatch: '*' }, 'not-modified'],
    ['If-Modified-Since at the time', 'GET', { ifModifiedSince: AT }, 'not-modified'],
    ['If-Modified-Since after', 'GET', { ifModifiedSince: AFTER }, 'not-modified'],
    ['If-Modified-Since before', 'GET', { ifModifiedSince: BEFORE }, 'proceed'],
    ['If-Modified-Since, HEAD', 'HEAD', { ifModifiedSince: AT }, 'not-modified'],
    ['If-Modified-Since on POST: ignored', 'POST', { ifModifiedSince: AT }, 'proceed'],
    ['If-Modified-Since not a date: ignored', 'GET', { ifModifiedSince: '1' }, 'proceed'],
  ];
  for (const [name, method, c, expected] of cases) {
    it(`${name} → ${expected}`, () => assert.equal(evaluate(method, c, V), expected));
  }
});

describe('evaluate: precedence', () => {
  const cases: [string, Conditions, Outcome][] = [
    ['If-Match holds, so If-Unmodified-Since (failing) is not looked at', { ifMatch: '"abc"', ifUnmodifiedSince: BEFORE }, 'proceed'],
    ['If-Match fails before If-None-Match could give 304', { ifMatch: '"xyz"', ifNoneMatch: '"abc"' }, 'failed'],
    ['If-Unmodified-Since fails before If-None-Match could give 304', { ifUnmodifiedSince: BEFORE, ifNoneMatch: '"abc"' }, 'failed'],
    ['If-Unmodified-Since fails before If-Modified-Since could give 304', { ifUnmodifiedSince: BEFORE, ifModifiedSince: AT }, 'failed'],
    ['If-None-Match not matching wins over If-Modified-Since that would give 304', { ifNoneMatch: '"xyz"', ifModifiedSince: AFTER }, 'proceed'],
    ['If-None-Match matching wins over If-Modified-Since that would give 200', { ifNoneMatch: '"abc"', ifModifiedSince: BEFORE }, 'not-modified'],
    ['If-Match and If-None-Match both of the tag: 304', { ifMatch: '"abc"', ifNoneMatch: '"abc"' }, 'not-modified'],
    ['all four holding', { ifMatch: '"abc"', ifUnmodifiedSince: AFTER, ifNoneMatch: '"xyz"', ifModifiedSince: BEFORE }, 'proceed'],
  ];
  for (const [name, c, expected] of cases) {
    it(`${name} → ${expected}`, () => assert.equal(evaluate('GET', c, V), expected));
  }
});

describe('ifRangeHolds', () => {
  const cases: [string | undefined, boolean, string][] = [
    [undefined, true, 'no If-Range: the range applies'],
    ['"abc"', true, 'the strong tag'],
    ['"xyz"', false, 'another tag'],
    ['W/"abc"', false, 'a weak tag never matches'],
    [AT, true, 'exactly the Last-Modified date'],
    [AFTER, false, 'a later date'],
    [BEFORE, false, 'an earlier date'],
    ['garbage', false, 'neither tag nor date'],
  ];
  for (const [value, expected, why] of cases) {
    it(`${JSON.stringify(value)} → ${expected} (${why})`, () => assert.equal(ifRangeHolds(value, V), expected));
  }
});

describe('entity-tag lists', () => {
  it('splits on commas outside quotes', () => {
    assert.deepEqual(entityTags('"a", W/"b",  "c,d" ,"e"'), ['"a"', 'W/"b"', '"c,d"', '"e"']);
  });
  it('stops at something that is not a tag', () => {
    assert.deepEqual(entityTags('"a", b, "c"'), ['"a"']);
    assert.deepEqual(entityTags('"a", "unterminated'), ['"a"']);
  });
  it('compares strongly or weakly', () => {
    assert.equal(matches('W/"abc"', '"abc"', false), true);
    assert.equal(matches('W/"abc"', '"abc"', true), false);
    assert.equal(matches('"abc"', '"abc"', true), true);
    assert.equal(matches('abc', '"abc"', false), false);
  });
});

describe('httpDate', () => {
  const cases: [string, number | undefined][] = [
    ['Sun, 06 Nov 1994 08:49:37 GMT', 784111777],
    ['Sunday, 06-Nov-94 08:49:37 GMT', 784111777],
    ['Sun Nov  6 08:49:37 1994', 784111777],
    ['Sun, 06 Nov 1994 08:49:37 UTC', undefined],
    ['Sun, 06 Nov 1994 08:49:37', undefined],
    ['06 Nov 1994 08:49:37 GMT', undefined],
    ['Sun, 06 Foo 1994 08:49:37 GMT', undefined],
    ['Sun, 06 Nov 1994 25:49:37 GMT', undefined],
    ['1', undefined],
    ['', undefined],
    ['2024-01-15T12:00:00Z', undefined],
    // static files read this as 2 March, certificate renewal refused it: one parser now, strict
    ['Sun, 30 Feb 2026 12:00:00 GMT', undefined],
    ['Tue, 31 Apr 2026 12:00:00 GMT', undefined],
    ['Sat, 29 Feb 2020 00:00:00 GMT', 1582934400],
  ];
  for (const [text, expected] of cases) {
    it(`${JSON.stringify(text)} → ${expected}`, () => assert.equal(httpDate(text), expected));
  }
});
