// Pure parts of src/access and the htpasswd reader: allow/deny decisions, Basic credentials, hash kinds.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AddressRules } from '../../src/access/rules.ts';
import { parseBasic } from '../../src/access/basic-auth.ts';
import { parseHtpasswd } from '../../src/config/htpasswd.ts';

describe('AddressRules', () => {
  const table: [string, string[], string[], string, boolean][] = [
    ['no lists: everyone', [], [], '203.0.113.1', true],
    ['deny only: the rest are let in', [], ['10.0.0.5'], '10.0.0.6', true],
    ['deny only: the listed one is refused', [], ['10.0.0.5'], '10.0.0.5', false],
    ['allow only: the rest are refused', ['10.0.0.0/8'], [], '11.0.0.1', false],
    ['allow only: the listed range is let in', ['10.0.0.0/8'], [], '10.200.0.1', true],
    ['allow then deny all', ['127.0.0.1', '::1'], ['all'], '::1', true],
    ['allow then deny all: others', ['127.0.0.1', '::1'], ['all'], '127.0.0.2', false],
    ['a specific deny inside an allowed range', ['10.0.0.0/8'], ['10.0.0.5', 'all'], '10.0.0.5', false],
    ['a specific allow inside a denied range', ['10.0.0.5'], ['10.0.0.0/8'], '10.0.0.5', true],
    ['the same entry in both: deny', ['10.0.0.5'], ['10.0.0.5'], '10.0.0.5', false],
    ['IPv6 ranges', ['2001:db8::/32'], ['all'], '2001:db8:1::9', true],
    ['an IPv6 client against IPv4 ranges', ['10.0.0.0/8'], [], '::1', false],
    ['allow all, deny one', ['all'], ['192.0.2.1'], '192.0.2.1', false],
    ['a client that is no address ("-") matches only all', ['10.0.0.0/8'], ['all'], '-', false],
  ];
  for (const [name, allow, deny, client, expected] of table) {
    it(name, () => assert.equal(new AddressRules(allow, deny).allowed(client), expected));
  }
});

describe('parseBasic', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  it('reads user and password (the password may hold colons)', () => {
    assert.deepEqual(parseBasic(`Basic ${b64('alice:a:b')}`), { user: 'alice', password: 'a:b' });
    assert.deepEqual(parseBasic(`basic ${b64('ü:pässword')}`), { user: 'ü', password: 'pässword' });
  });
  it('refuses other schemes and malformed values', () => {
    for (const h of [undefined, '', 'Bearer abc', `Basic ${b64('nocolon')}`, `Basic ${b64(':nouser')}`, 'Basic']) {
      assert.equal(parseBasic(h), undefined, String(h));
    }
  });
});

describe('parseHtpasswd', () => {
  const hash = `$2y$05$${'a'.repeat(53)}`;
  it('takes bcrypt lines, skipping comments and blank lines', () => {
    assert.deepEqual(parseHtpasswd(`# c\n\nalice:${hash}\r\nbob:${hash.replace('$2y', '$2b')}\n`), {
      users: { alice: hash, bob: hash.replace('$2y', '$2b') },
      problems: [],
    });
  });
  it('refuses every other kind of hash with its line', () => {
    const text = [`ok:${hash}`, 'md5:$apr1$abc$def', 'sha:{SHA}abcdef=', 'des:abJnggxhB/yWI', 'plain:secret', 'nocolon', `ok:${hash}`].join('\n');
    assert.deepEqual(parseHtpasswd(text).problems.map((p) => `${p.line}: ${p.message}`), [
      '2: user "md5": an MD5 ($apr1$) hash; edge takes bcrypt hashes only (htpasswd -B)',
      '3: user "sha": a SHA-1 ({SHA}) hash; edge takes bcrypt hashes only (htpasswd -B)',
      '4: user "des": a DES crypt hash; edge takes bcrypt hashes only (htpasswd -B)',
      '5: user "plain": not a bcrypt hash (plain text?); edge takes bcrypt hashes only (htpasswd -B)',
      '6: expected user:hash',
      '7: user "ok" is listed twice',
    ]);
  });
});
