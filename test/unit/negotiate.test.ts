// Accept-Encoding negotiation: parsing q-values and choosing among the codings edge offers.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseEncoding, parseAcceptEncoding, weightOf } from '../../src/compress/negotiate.ts';

const ALL = ['zstd', 'br', 'gzip'] as const;

describe('chooseEncoding: the coding to send, [zstd, br, gzip] offered in that order', () => {
  const cases: [string | undefined, string | undefined, string][] = [
    [undefined, undefined, 'no Accept-Encoding: identity'],
    ['', undefined, 'empty Accept-Encoding: identity only'],
    ['gzip', 'gzip', 'the one listed'],
    ['br', 'br', 'the one listed'],
    ['zstd', 'zstd', 'the one listed'],
    ['GZIP', 'gzip', 'case-insensitive'],
    ['x-gzip', 'gzip', 'x-gzip is gzip'],
    ['gzip, deflate, br, zstd', 'zstd', 'Chrome: all q=1, the server\'s order decides'],
    ['gzip, deflate, br', 'br', 'Firefox: br before gzip in the server\'s order'],
    ['deflate', undefined, 'only a coding edge does not offer'],
    ['gzip;q=0.5, br;q=0.8', 'br', 'the highest q wins'],
    ['gzip;q=1.0, br;q=0.999', 'gzip', 'three decimals count'],
    ['br;q=0.8, gzip;q=0.8', 'br', 'a tie goes by the server\'s order'],
    ['gzip;q=0', undefined, 'q=0: not acceptable'],
    ['gzip;q=0, br', 'br', 'q=0 excludes only that one'],
    ['*', 'zstd', '"*": anything, the server\'s first'],
    ['*;q=0.5', 'zstd', '"*" with a weight: still better than nothing, and identity gets the same weight'],
    ['*;q=0', undefined, '"*;q=0": nothing but identity'],
    ['gzip, *;q=0', 'gzip', 'an explicit coding beats "*;q=0"'],
    ['br;q=0, *', 'zstd', '"*" covers what is not listed; br is excluded'],
    ['zstd;q=0, br;q=0, *', 'gzip', '"*" reaches the last one'],
    ['identity', undefined, 'identity alone'],
    ['identity;q=1, gzip;q=0.5', undefined, 'identity preferred to gzip'],
    ['identity;q=0.5, gzip', 'gzip', 'gzip preferred to identity'],
    ['identity;q=0', undefined, 'identity refused and nothing else acceptable: identity all the same'],
    ['identity;q=0, gzip;q=0.1', 'gzip', 'a low q beats a refused identity'],
    ['gzip;q=0.5', 'gzip', 'identity left out does not compete, whatever gzip\'s weight'],
    ['gzip;q=0.5, identity;q=0.8', undefined, 'identity listed higher wins'],
    ['gzip;q=0.5, identity;q=0.2', 'gzip', 'identity listed lower loses'],
    ['gzip;q=0.5, zstd;q=0, br;q=0, *;q=0.8', undefined, 'identity weighed through "*" competes too'],
    ['gzip ; q=0.7 , br ; q = 0.6', 'gzip', 'spaces around ";" and "="'],
    ['gzip;q=2', undefined, 'a q above 1 is malformed: the entry is left out'],
    ['gzip;q=abc, br', 'br', 'a malformed q leaves that entry out'],
    ['gzip;level=9', undefined, 'a parameter other than q: the entry is left out'],
    [',, gzip ,', 'gzip', 'empty list elements are skipped'],
    ['gzip, gzip;q=0', 'gzip', 'a coding listed twice keeps its first weight'],
  ];
  for (const [header, expected, why] of cases) {
    it(`${JSON.stringify(header)} → ${expected ?? 'identity'} (${why})`, () => {
      assert.equal(chooseEncoding(header, ALL), expected);
    });
  }

  it('offers only what the route lists, in its order', () => {
    assert.equal(chooseEncoding('gzip, br, zstd', ['gzip']), 'gzip');
    assert.equal(chooseEncoding('br, zstd', ['gzip']), undefined);
    assert.equal(chooseEncoding('gzip, br, zstd', ['gzip', 'br']), 'gzip');
    assert.equal(chooseEncoding('*', ['br', 'gzip']), 'br');
  });

  it('gives the same answer for a header seen before (parsed once)', () => {
    for (let i = 0; i < 3; i++) assert.equal(chooseEncoding('gzip;q=0.5, br;q=0.9', ALL), 'br');
  });

  it('stays correct past the memo\'s bound', () => {
    for (let i = 0; i < 1000; i++) {
      if (i % 2 === 0) assert.equal(chooseEncoding(`br, x-${i}`, ALL), 'br');
      else assert.equal(chooseEncoding(`br;q=0, x-${i}`, ALL), undefined);
    }
  });
});

describe('parseAcceptEncoding and weightOf', () => {
  it('records each coding\'s weight and the "*" default', () => {
    const a = parseAcceptEncoding('gzip;q=0.3, BR, *;q=0.1');
    assert.deepEqual([...a.codings], [['gzip', 0.3], ['br', 1]]);
    assert.equal(a.star, 0.1);
    assert.equal(weightOf(a, 'gzip'), 0.3);
    assert.equal(weightOf(a, 'zstd'), 0.1);
  });

  it('gives a coding neither listed nor covered by "*" weight 0', () => {
    const a = parseAcceptEncoding('gzip');
    assert.equal(weightOf(a, 'br'), 0);
    assert.equal(a.star, undefined);
  });
});
