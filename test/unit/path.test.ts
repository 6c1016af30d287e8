// Request-target parsing for routing: pathOf cuts the query, normalisePath decodes and normalises.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BadPathError, normalisePath, pathOf } from '../../src/server/path.ts';

describe('pathOf', () => {
  const cases: [string, string][] = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/b?x=1&y=2', '/a/b'],
    ['/a?', '/a'],
    ['/?x', '/'],
    ['/a#frag', '/a'],
    ['/a?x=1#frag', '/a'],
    ['/a#frag?x=1', '/a'],
    ['/a%3Fb', '/a%3Fb'],
    ['', ''],
  ];
  for (const [url, expected] of cases) {
    it(`${JSON.stringify(url)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(pathOf(url), expected);
    });
  }
});

describe('normalisePath', () => {
  const good: [string, string][] = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b/'],
    // percent-encoding is decoded, so an encoded name matches the route for the plain one
    ['/%61dmin', '/admin'],
    ['/%41DMIN', '/ADMIN'],
    ['/a%20b', '/a b'],
    ['/caf%C3%A9', '/café'],
    ['/a%2Fb', '/a/b'],
    ['/a%3Fb', '/a?b'],
    // dot segments
    ['/./a', '/a'],
    ['/a/./b', '/a/b'],
    ['/a/.', '/a/'],
    ['/a/./', '/a/'],
    ['/x/../admin', '/admin'],
    ['/a/b/..', '/a/'],
    ['/a/b/../', '/a/'],
    ['/a/..', '/'],
    ['/a/b/../../c', '/c'],
    ['/a/%2e%2e/x', '/x'],
    ['/a/%2E/b', '/a/b'],
    ['/a/.b', '/a/.b'],
    ['/a/..b', '/a/..b'],
    ['/a/b..', '/a/b..'],
    // double slashes collapse; a trailing slash is kept
    ['//a', '/a'],
    ['/a//b', '/a/b'],
    ['/a///b//', '/a/b/'],
    ['//', '/'],
    ['/a//', '/a/'],
  ];
  for (const [path, expected] of good) {
    it(`${JSON.stringify(path)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(normalisePath(path), expected);
    });
  }

  const bad: [string, RegExp][] = [
    ['/..', /above the root/],
    ['/../a', /above the root/],
    ['/a/../..', /above the root/],
    ['/a/../../b', /above the root/],
    ['/%2e%2e', /above the root/],
    ['/%2E%2E/etc/passwd', /above the root/],
    ['/a/%2e%2e%2f..', /above the root/],
    ['/%', /malformed percent-encoding/],
    ['/a%2', /malformed percent-encoding/],
    ['/%zz', /malformed percent-encoding/],
    ['/%C3', /malformed percent-encoding/],
    ['/%E0%A4%A', /malformed percent-encoding/],
    ['/%00', /NUL/],
    ['/a%00.html', /NUL/],
    ['', /must start with/],
    ['a/b', /must start with/],
    ['*', /must start with/],
    ['%2Fa', /must start with/],
    ['http://example.com/a', /must start with/],
  ];
  for (const [path, message] of bad) {
    it(`${JSON.stringify(path)} → BadPathError ${message}`, () => {
      assert.throws(() => normalisePath(path), (err: unknown) => {
        assert.ok(err instanceof BadPathError, `not a BadPathError: ${String(err)}`);
        assert.equal(err.code, 'EBADPATH');
        assert.match(err.message, message);
        return true;
      });
    });
  }
});
