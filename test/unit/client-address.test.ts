import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { plainAddress } from '../../src/http/client-address.ts';

describe('plainAddress', () => {
  const cases: [string, string][] = [
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['2001:db8::1', '2001:db8::1'],
    // not an IPv4-mapped address: IPv6 with ffff in it
    ['::ffff:1:2', '::ffff:1:2'],
    ['', ''],
  ];
  for (const [input, out] of cases) it(`${JSON.stringify(input)} → ${out}`, () => assert.equal(plainAddress(input), out));
});
