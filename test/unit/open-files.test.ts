// The open-files limit as /proc/self/limits gives it, and when it is worth a warning.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeFileLimit, parseLimits } from '../../src/ops/open-files.ts';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('parseLimits', () => {
  it('reads the Max open files line', () => {
    assert.deepEqual(parseLimits(LIMITS), { soft: 1024, hard: 524288 });
  });
  it('unlimited is Infinity', () => {
    assert.deepEqual(parseLimits('Max open files            unlimited            unlimited            files\n'), { soft: Infinity, hard: Infinity });
  });
  it('no such line: undefined', () => {
    assert.equal(parseLimits('Max cpu time unlimited unlimited seconds\n'), undefined);
  });
});

describe('describeFileLimit', () => {
  const cases: [soft: number, hard: number, workers: number, line: string, warning: RegExp | undefined][] = [
    [524288, 524288, 1, '524288 per process', undefined],
    [2080, 2080, 4, '2080 per process', undefined],
    [1024, 524288, 1, '1024 per process (hard limit 524288)', /the limit is 1024 per process, below the 2080 .*about 496 connections per process, and past that/],
    [1024, 1024, 4, '1024 per process', /about 496 connections per process, about 1984 for 4 workers/],
    [64, 64, 1, '64 per process', /about 16 connections per process, and/],
    [16, 16, 1, '16 per process', /about 0 connections per process/],
  ];
  for (const [soft, hard, workers, line, warning] of cases) {
    it(`${soft}/${hard} with ${workers} worker(s)`, () => {
      const got = describeFileLimit({ soft, hard }, workers);
      assert.equal(got.line, line);
      if (warning) assert.match(got.warning ?? '', warning);
      else assert.equal(got.warning, undefined);
    });
  }
});
