// The storage: URL for a fleet, parsed: every accepted form, and each refusal with its reason.

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { isRedisUrl, parseRedisUrl, RedisUrlError } from '../../src/tls/storage/redis-url.ts';

it('tells Redis URLs from folders', () => {
  for (const s of ['redis://h:1/0', 'REDIS://h', 'rediss://h', 'redis+unix:///s.sock']) assert.ok(isRedisUrl(s), s);
  for (const s of ['./certs', '/var/lib/edge', 'redis', 'redis-data/', 'https://x']) assert.ok(!isRedisUrl(s), s);
});

it('parses host, port, database, user and password, masking the password', () => {
  const s = parseRedisUrl('redis://edge:s%40cret@10.0.0.5:6380/3');
  assert.deepEqual({ ...s }, {
    host: '10.0.0.5', port: 6380, db: 3, username: 'edge', password: 's@cret', tls: false, prefix: 'edge:',
    display: 'redis://edge:***@10.0.0.5:6380/3',
  });
  assert.deepEqual([parseRedisUrl('redis://cache').port, parseRedisUrl('redis://cache').db], [6379, 0]);
  assert.equal(parseRedisUrl('redis://:pw@h/0').password, 'pw');
  assert.equal(parseRedisUrl('redis://:pw@h/0').username, undefined);
  assert.equal(parseRedisUrl('redis://[::1]:7000/1').host, '::1');
});

it('rediss:// is TLS, with an optional extra root; a prefix separates fleets', () => {
  const s = parseRedisUrl('rediss://h:6390/0?ca=/etc/edge/redis-ca.pem&prefix=shop:');
  assert.equal(s.tls, true);
  assert.equal(s.caFile, '/etc/edge/redis-ca.pem');
  assert.equal(s.prefix, 'shop:');
});

it('redis+unix:// names a socket, the database in ?db=', () => {
  const s = parseRedisUrl('redis+unix:///run/redis/redis.sock?db=2');
  assert.equal(s.path, '/run/redis/redis.sock');
  assert.equal(s.db, 2);
  assert.equal(s.host, undefined);
});

it('refuses what it cannot use, saying why', () => {
  const cases: [string, RegExp][] = [
    ['redis://h:1/x', /database is a number/],
    ['redis://h:1/0/1', /database is a number/],
    ['redis://h:1/0?db=1', /database goes in the path/],
    ['redis://h:1/0?ca=/x.pem', /unknown storage URL option "ca"/],
    ['redis://h:1/0?timeout=1', /unknown storage URL option "timeout"/],
    ['redis+unix://host/s.sock', /three slashes/],
    ['redis+unix:///', /three slashes/],
    ['redis://h/0?prefix=a*', /prefix/],
    ['redis:///0', /no host|not a URL/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseRedisUrl(text), (err: unknown) => err instanceof RedisUrlError && message.test(err.message), text);
  }
});
