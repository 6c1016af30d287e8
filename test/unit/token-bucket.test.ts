// rate_limit's token bucket (pure, time passed in): burst at once, then the rate, per key.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBuckets } from '../../src/access/token-bucket.ts';
import { ConnLimit, keyOf } from '../../src/access/limits.ts';

describe('TokenBuckets', () => {
  it('lets a burst through at once, then one per 1/rate, with the wait until the next token', () => {
    const b = new TokenBuckets(10, 3);
    assert.deepEqual([b.take('a', 0), b.take('a', 0), b.take('a', 0)], [0, 0, 0]);
    assert.equal(b.take('a', 0), 100, 'empty: a token in 100 ms at 10/s');
    assert.equal(b.take('a', 60), 40);
    assert.equal(b.take('a', 100), 0);
    assert.equal(b.take('a', 100), 100);
  });

  it('keeps keys apart', () => {
    const b = new TokenBuckets(1, 1);
    assert.equal(b.take('a', 0), 0);
    assert.equal(b.take('b', 0), 0);
    assert.equal(b.take('a', 0), 1000);
  });

  it('refills no further than the burst', () => {
    const b = new TokenBuckets(100, 2);
    assert.equal(b.take('a', 0), 0);
    for (let i = 0; i < 2; i++) assert.equal(b.take('a', 1_000_000), 0);
    assert.ok(b.take('a', 1_000_000) > 0);
  });

  it('a slow rate: 1 per minute', () => {
    const b = new TokenBuckets(1 / 60, 1);
    assert.equal(b.take('a', 0), 0);
    assert.equal(b.take('a', 0), 60_000);
    assert.equal(b.take('a', 59_000), 1000);
    assert.equal(b.take('a', 60_000), 0);
  });
});

describe('keyOf', () => {
  it('client_ip, or a header with the client as fallback', () => {
    assert.equal(keyOf('client_ip')('10.0.0.1', { 'x-api-key': 'k' }), '10.0.0.1');
    const header = keyOf('header:x-api-key');
    assert.equal(header('10.0.0.1', { 'x-api-key': 'k' }), 'h:k');
    assert.equal(header('10.0.0.1', {}), 'ip:10.0.0.1');
    assert.notEqual(header('10.0.0.1', { 'x-api-key': 'ip:10.0.0.1' }), header('10.0.0.1', {}), 'a header cannot pose as an address');
  });
});

describe('ConnLimit', () => {
  it('counts in-progress requests per key; a release is given back once', () => {
    const c = new ConnLimit({ max: 2, key: 'client_ip' });
    const r1 = c.enter('a')!;
    const r2 = c.enter('a')!;
    assert.equal(c.enter('a'), undefined);
    assert.ok(c.enter('b'));
    r1();
    r1();
    const r3 = c.enter('a');
    assert.ok(r3);
    assert.equal(c.enter('a'), undefined, 'the double release did not free two places');
    r2();
  });
});
