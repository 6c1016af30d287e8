// Sizes and durations as written in config files: parseSize, parseDuration and their formatters.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatSize, parseDuration, parseSize } from '../../src/config/units.ts';

describe('parseSize', () => {
  const cases: [string | number, number | undefined][] = [
    [512, 512],
    [0, 0],
    ['512', 512],
    ['0', 0],
    ['100b', 100],
    ['16KiB', 16 * 1024],
    ['16kib', 16 * 1024],
    ['10MB', 10_000_000],
    ['10mb', 10_000_000],
    ['10MiB', 10 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1GB', 1_000_000_000],
    ['2t', 2 * 1024 ** 4],
    ['1.5k', 1536],
    ['  4 KiB  ', 4096],
    ['', undefined],
    ['   ', undefined],
    ['5 megs', undefined],
    ['5x', undefined],
    ['KiB', undefined],
    ['-1', undefined],
    ['1e3', undefined],
    ['.5k', undefined],
    ['1,000', undefined],
    [-1, undefined],
    [1.5, undefined],
    [Number.NaN, undefined],
    [Number.POSITIVE_INFINITY, undefined],
    ['99999999999999999999', undefined],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} (${typeof input}) → ${expected}`, () => {
      assert.equal(parseSize(input), expected);
    });
  }
});

describe('parseDuration', () => {
  const cases: [string | number, number | undefined][] = [
    ['500ms', 500],
    ['5s', 5000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['1d', 86_400_000],
    [' 5s ', 5000],
    ['off', 0],
    ['0', 0],
    [0, 0],
    ['30', undefined],
    [30, undefined],
    [1.5, undefined],
    [-1, undefined],
    ['5x', undefined],
    ['5', undefined],
    ['', undefined],
    ['   ', undefined],
    ['5 s', undefined],
    ['1h 30m', undefined],
    ['1m30', undefined],
    ['-5s', undefined],
    ['5 minutes', undefined],
    ['ms', undefined],
    ['on', undefined],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} (${typeof input}) → ${expected}`, () => {
      assert.equal(parseDuration(input), expected);
    });
  }
});

describe('formatSize', () => {
  const cases: [number, string][] = [
    [0, '0B'],
    [1, '1B'],
    [1000, '1000B'],
    [1024, '1KiB'],
    [1536, '1536B'],
    [16 * 1024, '16KiB'],
    [10 * 1024 ** 2, '10MiB'],
    [1024 ** 3, '1GiB'],
    [3 * 1024 ** 3, '3GiB'],
    [10_000_000, '10000000B'],
  ];
  for (const [bytes, expected] of cases) {
    it(`${bytes} → ${expected}, which parses back to ${bytes}`, () => {
      assert.equal(formatSize(bytes), expected);
      assert.equal(parseSize(expected), bytes);
    });
  }
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [0, 'off'],
    [1, '1ms'],
    [500, '500ms'],
    [1500, '1500ms'],
    [5000, '5s'],
    [90_000, '90s'],
    [120_000, '2m'],
    [5_400_000, '90m'],
    [3_600_000, '1h'],
    [86_400_000, '24h'],
  ];
  for (const [ms, expected] of cases) {
    it(`${ms} → ${expected}, which parses back to ${ms}`, () => {
      assert.equal(formatDuration(ms), expected);
      assert.equal(parseDuration(expected), ms);
    });
  }
});
