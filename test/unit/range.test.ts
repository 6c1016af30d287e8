// The Range header for one representation: one range served, several or malformed ones ignored,
// ranges past the end refused.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { contentRange, parseRange, type RangeResult } from '../../src/static/range.ts';

describe('parseRange for a 1000-byte representation', () => {
  const cases: [string, RangeResult, string][] = [
    ['bytes=0-499', { start: 0, end: 499 }, 'the first 500 bytes'],
    ['bytes=500-999', { start: 500, end: 999 }, 'the second 500'],
    ['bytes=500-', { start: 500, end: 999 }, 'from 500 to the end'],
    ['bytes=-100', { start: 900, end: 999 }, 'the last 100'],
    ['bytes=-1000', { start: 0, end: 999 }, 'the last 1000: all of it'],
    ['bytes=-5000', { start: 0, end: 999 }, 'a suffix longer than the file: all of it'],
    ['bytes=0-0', { start: 0, end: 0 }, 'one byte'],
    ['bytes=999-999', { start: 999, end: 999 }, 'the last byte'],
    ['bytes=900-5000', { start: 900, end: 999 }, 'an end past the file is cut to it'],
    ['bytes=0-99999999999999999999', { start: 0, end: 999 }, 'an absurd end is cut too'],
    ['Bytes=0-9', { start: 0, end: 9 }, 'the unit is case-insensitive'],
    ['bytes= 0-9 ', { start: 0, end: 9 }, 'spaces around the range'],
    ['bytes=0-9,', { start: 0, end: 9 }, 'an empty list element'],
    ['bytes=1000-', 'unsatisfiable', 'starts at the end'],
    ['bytes=1000-2000', 'unsatisfiable', 'starts past the end'],
    ['bytes=-0', 'unsatisfiable', 'the last zero bytes'],
    ['bytes=0-1,5-9', 'ignore', 'several ranges: the whole file instead'],
    ['bytes=0-1, 1000-2000', 'ignore', 'several ranges, one unsatisfiable: still ignored'],
    ['bytes=5-1', 'ignore', 'last before first'],
    ['bytes=a-b', 'ignore', 'not numbers'],
    ['bytes=-', 'ignore', 'neither end'],
    ['bytes=1', 'ignore', 'no dash'],
    ['bytes=+1-2', 'ignore', 'a sign'],
    ['bytes=1.5-2', 'ignore', 'a fraction'],
    ['bytes=0x10-20', 'ignore', 'hex'],
    ['items=0-9', 'ignore', 'another unit'],
    ['bytes', 'ignore', 'no ranges'],
    ['', 'ignore', 'empty'],
    ['0-9', 'ignore', 'no unit'],
  ];
  for (const [header, expected, why] of cases) {
    it(`${JSON.stringify(header)} → ${JSON.stringify(expected)} (${why})`, () => {
      assert.deepEqual(parseRange(header, 1000), expected);
    });
  }
});

describe('parseRange at the edges of size', () => {
  it('an empty file satisfies no range', () => {
    assert.equal(parseRange('bytes=0-', 0), 'unsatisfiable');
    assert.equal(parseRange('bytes=0-0', 0), 'unsatisfiable');
    assert.equal(parseRange('bytes=-1', 0), 'unsatisfiable');
  });

  it('a one-byte file', () => {
    assert.deepEqual(parseRange('bytes=0-', 1), { start: 0, end: 0 });
    assert.deepEqual(parseRange('bytes=-1', 1), { start: 0, end: 0 });
    assert.equal(parseRange('bytes=1-', 1), 'unsatisfiable');
  });

  it('sizes past 4 GiB', () => {
    const size = 6 * 1024 ** 3;
    assert.deepEqual(parseRange(`bytes=${size - 10}-`, size), { start: size - 10, end: size - 1 });
  });
});

describe('contentRange', () => {
  it('206: first-last/size', () => assert.equal(contentRange({ start: 0, end: 9 }, 100), 'bytes 0-9/100'));
  it('416: */size', () => assert.equal(contentRange(undefined, 100), 'bytes */100'));
});
