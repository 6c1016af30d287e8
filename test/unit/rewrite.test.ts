// strip_prefix and rewrite as a pure function of the request target: one table, including the
// targets that try to climb above "/" or smuggle an encoded "?" or "%" through the rewrite.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cleanPath, compileRewrite, compileTemplate, RewriteRefusedError, type RewriteConfig } from '../../src/server/rewrite.ts';

const STRIP: RewriteConfig = { strip_prefix: '/api' };
const OLD: RewriteConfig = { rewrite: { from: '^/old/(.*)$', to: '/new/$1' } };
const BOTH: RewriteConfig = { strip_prefix: '/api', rewrite: { from: '^/old/(.*)$', to: '/new/$1' } };
const DOTS: RewriteConfig = { rewrite: { from: '^/x/(.)', to: '/y/.$1/z' } };
const SWAP: RewriteConfig = { rewrite: { from: '^/u/([^/]+)/([^/]+)$', to: '/$2/$1' } };
const LEADING: RewriteConfig = { rewrite: { from: '^/p(.*)$', to: '/$1' } };

const CASES: [string, RewriteConfig, string, string | 'refused'][] = [
  ['strips a prefix, query kept', STRIP, '/api/v1/x?a=1&b=%20', '/v1/x?a=1&b=%20'],
  ['the prefix alone is /', STRIP, '/api', '/'],
  ['the prefix with its slash is /', STRIP, '/api/', '/'],
  ['the prefix alone keeps its query', STRIP, '/api?q', '/?q'],
  ['strips only at a segment boundary', STRIP, '/apiary/x', '/apiary/x'],
  ['leaves other paths byte for byte', STRIP, '/other/%7Ex?y', '/other/%7Ex?y'],
  ['strips the decoded prefix', STRIP, '/%61pi/v1', '/v1'],
  ['an encoded space stays encoded', STRIP, '/api/a%20b', '/a%20b'],
  ['an encoded ? stays in the path', STRIP, '/api/a%3Fb?c', '/a%3Fb?c'],
  ['an encoded % is not decoded twice', STRIP, '/api/%252e%252e/x', '/%252e%252e/x'],
  ['an encoded # stays encoded', STRIP, '/api/a%23b', '/a%23b'],
  ['UTF-8 round-trips', STRIP, '/api/caf%C3%A9', '/caf%C3%A9'],
  ['dot segments resolve before the strip', STRIP, '/api/v1/../v2/./x', '/v2/x'],
  ['climbing above the root is refused', STRIP, '/api/%2e%2e/%2e%2e/etc/passwd', 'refused'],
  ['an encoded .. out of the prefix: nothing stripped, sent as it came', STRIP, '/api/%2e%2e/admin', '/api/%2e%2e/admin'],
  ['rewrites with $1, query kept', OLD, '/old/a/b?x=1', '/new/a/b?x=1'],
  ['no match: left as sent', OLD, '/older/a', '/older/a'],
  ['strip first, then rewrite', BOTH, '/api/old/x?q', '/new/x?q'],
  ['strip without a rewrite match', BOTH, '/api/v1', '/v1'],
  ['groups in any order', SWAP, '/u/a/b', '/b/a'],
  ['a result with a .. segment is refused', DOTS, '/x/.hidden', 'refused'],
  ['a result starting // is one /', LEADING, '/p/evil.example/x', '/evil.example/x'],
];

describe('compileRewrite', () => {
  for (const [name, config, input, expected] of CASES) {
    it(`${name}: ${input}`, () => {
      const rewrite = compileRewrite(config)!;
      if (expected === 'refused') assert.throws(() => rewrite(input), RewriteRefusedError);
      else assert.equal(rewrite(input), expected);
    });
  }

  it('is undefined for a route with neither rule', () => {
    assert.equal(compileRewrite({}), undefined);
  });
});

describe('cleanPath and compileTemplate', () => {
  it('drops empty and . segments, keeps a trailing /', () => assert.equal(cleanPath('/a//./b/'), '/a/b/'));
  it('refuses .. anywhere', () => assert.throws(() => cleanPath('/a/../b'), RewriteRefusedError));
  it('refuses a path without a leading /', () => assert.throws(() => cleanPath('a'), RewriteRefusedError));
  it('splits $1..$9, leaving other $ as text', () => assert.deepEqual(compileTemplate('/a/$1/$x/$9$$0'), ['/a/', 1, '/$x/', 9, '$$0']));
});
