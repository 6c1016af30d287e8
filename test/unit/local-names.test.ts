// isLocalName: which names get edge's local CA instead of a public ACME CA.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isLocalName } from '../../src/config/address.ts';

describe('isLocalName', () => {
  const cases: [string, boolean][] = [
    ['localhost', true],
    ['LOCALHOST', true],
    ['localhost.', true],
    ['a.localhost', true],
    ['x.test', true],
    ['*.app.test', true],
    ['svc.internal', true],
    ['printer.local', true],
    ['nas.home.arpa', true],
    ['test.example', true],
    ['bad.invalid', true],
    ['127.0.0.1', true],
    ['203.0.113.7', true],
    ['::1', true],
    ['2001:db8::1', true],
    ['example.com', false],
    ['www.example.com', false],
    ['mytest', false],
    ['localhost.example.com', false],
    ['notlocal', false],
    ['app.internal.example.com', false],
    ['testing.net', false],
  ];
  for (const [name, expected] of cases) {
    it(`${name} → ${expected}`, () => assert.equal(isLocalName(name), expected));
  }
});
