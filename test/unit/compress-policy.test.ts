// Which responses are compressed on the way out, and the header helpers that go with it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addVary, isCompressible, MIN_SIZE, verdict, weakenEtag, type ResponseHead, type Verdict } from '../../src/compress/policy.ts';

const HTML: ResponseHead = {
  status: 200,
  method: 'GET',
  contentType: 'text/html; charset=utf-8',
  contentEncoding: undefined,
  contentLength: 5000,
  contentRange: undefined,
  cacheControl: undefined,
};

describe('verdict', () => {
  const cases: [string, Partial<ResponseHead>, Verdict][] = [
    ['HTML of 5000 bytes', {}, 'compress'],
    ['unknown length', { contentLength: undefined }, 'compress'],
    ['exactly the minimum', { contentLength: MIN_SIZE }, 'compress'],
    ['one byte under the minimum', { contentLength: MIN_SIZE - 1 }, 'skip'],
    ['empty', { contentLength: 0 }, 'skip'],
    ['a 404 page', { status: 404 }, 'compress'],
    ['a 500 page', { status: 500 }, 'compress'],
    ['201 Created with a body', { status: 201 }, 'compress'],
    ['204 No Content', { status: 204 }, 'skip'],
    ['206 Partial Content', { status: 206 }, 'skip'],
    ['304 Not Modified', { status: 304 }, 'not-modified'],
    ['101 Switching Protocols', { status: 101 }, 'skip'],
    ['Content-Range on a 200', { contentRange: 'bytes 0-9/100' }, 'skip'],
    ['already gzip', { contentEncoding: 'gzip' }, 'skip'],
    ['already br, upper case', { contentEncoding: 'BR' }, 'skip'],
    ['Content-Encoding: identity', { contentEncoding: 'identity' }, 'compress'],
    ['Cache-Control: no-transform', { cacheControl: 'no-transform' }, 'skip'],
    ['no-transform among others', { cacheControl: 'public, max-age=60, No-Transform' }, 'skip'],
    ['no-transform as a prefix of another word does not count', { cacheControl: 'no-transformation' }, 'compress'],
    ['other Cache-Control', { cacheControl: 'no-cache, no-store' }, 'compress'],
    ['HEAD: no body, but Vary', { method: 'HEAD' }, 'vary'],
    ['HEAD of a small body', { method: 'HEAD', contentLength: 10 }, 'skip'],
    ['an event stream', { contentType: 'text/event-stream', contentLength: undefined }, 'stream'],
    ['a PNG', { contentType: 'image/png' }, 'skip'],
    ['a zip', { contentType: 'application/zip' }, 'skip'],
    ['no Content-Type', { contentType: undefined }, 'skip'],
    ['JSON', { contentType: 'application/json' }, 'compress'],
    ['problem+json', { contentType: 'application/problem+json; charset=utf-8' }, 'compress'],
    ['SVG', { contentType: 'image/svg+xml' }, 'compress'],
    ['JavaScript, mixed case', { contentType: 'Text/JavaScript; charset=UTF-8' }, 'compress'],
  ];
  for (const [name, change, expected] of cases) {
    it(`${name} → ${expected}`, () => assert.equal(verdict({ ...HTML, ...change }), expected));
  }
});

describe('isCompressible', () => {
  for (const type of ['text/plain', 'text/css', 'text/csv', 'application/javascript', 'application/xml', 'application/atom+xml', 'application/vnd.github+json', 'application/wasm', 'font/ttf']) {
    it(`${type}: yes`, () => assert.equal(isCompressible(type), true));
  }
  for (const type of ['image/jpeg', 'image/webp', 'video/mp4', 'audio/mpeg', 'application/octet-stream', 'application/gzip', 'application/pdf', 'font/woff2', 'application/x-protobuf']) {
    it(`${type}: no`, () => assert.equal(isCompressible(type), false));
  }
});

describe('addVary', () => {
  const cases: [string | undefined, string][] = [
    [undefined, 'Accept-Encoding'],
    ['', 'Accept-Encoding'],
    ['Origin', 'Origin, Accept-Encoding'],
    ['accept-encoding', 'accept-encoding'],
    ['Origin, Accept-Encoding', 'Origin, Accept-Encoding'],
    ['*', '*'],
    ['Accept-Encoding-X', 'Accept-Encoding-X, Accept-Encoding'],
  ];
  for (const [vary, expected] of cases) {
    it(`${JSON.stringify(vary)} → ${JSON.stringify(expected)}`, () => assert.equal(addVary(vary), expected));
  }
});

describe('weakenEtag', () => {
  it('makes a strong tag weak', () => assert.equal(weakenEtag('"abc"'), 'W/"abc"'));
  it('leaves a weak tag alone', () => assert.equal(weakenEtag('W/"abc"'), 'W/"abc"'));
});
