// Every balancing policy alone: distribution over many picks (weights within a stated tolerance),
// consistent-hash stability when an upstream is added, p2c and least_conn preferring the less
// loaded, and no pick when nothing is available.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPolicy } from '../../src/proxy/policies/index.ts';
import { First } from '../../src/proxy/policies/first.ts';
import { clientKey, cookieKey, headerKey, RendezvousHash } from '../../src/proxy/policies/hash.ts';
import { LeastConn } from '../../src/proxy/policies/least-conn.ts';
import { PowerOfTwo } from '../../src/proxy/policies/p2c.ts';
import type { Candidate, PickRequest, Policy } from '../../src/proxy/policies/policy.ts';
import { RandomPick } from '../../src/proxy/policies/random.ts';
import { RoundRobin } from '../../src/proxy/policies/round-robin.ts';
import { POLICIES, parseBalance, type Balance } from '../../src/config/upstream-schema.ts';

interface Up extends Candidate {
  name: string;
  weight: number;
  inFlight: number;
  available: boolean;
}

const ups = (...weights: number[]): Up[] => weights.map((weight, i) => ({ name: `u${i}`, weight, inFlight: 0, available: true }));
const REQ: PickRequest = { client: '192.0.2.1', headers: {} };

/** mulberry32: a seeded generator, so the counts below are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function counts(policy: Policy, pool: Up[], n: number, req: (i: number) => PickRequest = () => REQ): number[] {
  const seen = pool.map(() => 0);
  for (let i = 0; i < n; i++) seen[pool.indexOf(policy.select(pool, req(i))!)]!++;
  return seen;
}

/** Each count within `tolerance` (a fraction) of its weight's share of n. */
function assertShares(seen: number[], weights: number[], n: number, tolerance: number): void {
  const total = weights.reduce((a, b) => a + b, 0);
  seen.forEach((c, i) => {
    const expected = (n * weights[i]!) / total;
    assert.ok(Math.abs(c - expected) <= expected * tolerance, `upstream ${i}: ${c} picks, expected ${expected} ±${tolerance * 100}% (all: ${seen.join(', ')})`);
  });
}

describe('round_robin (smooth weighted)', () => {
  it('gives exactly the weighted shares, interleaved rather than in bursts', () => {
    const pool = ups(5, 1, 1);
    const rr = new RoundRobin();
    const order = Array.from({ length: 7 }, () => rr.select(pool)!.name);
    assert.deepEqual(order, ['u0', 'u0', 'u1', 'u0', 'u2', 'u0', 'u0']);
    assert.deepEqual(counts(rr, pool, 7000), [5000, 1000, 1000]);
  });

  it('equal weights alternate', () => {
    const rr = new RoundRobin();
    const pool = ups(1, 1, 1);
    assert.deepEqual(Array.from({ length: 6 }, () => rr.select(pool)!.name), ['u0', 'u1', 'u2', 'u0', 'u1', 'u2']);
  });

  it('skips an unavailable upstream and shares its traffic among the rest by weight', () => {
    const pool = ups(2, 1, 1);
    pool[0]!.available = false;
    assert.deepEqual(counts(new RoundRobin(), pool, 1000), [0, 500, 500]);
  });
});

describe('random (weighted)', () => {
  it('weights 3:1:1 within 3% over 50,000 picks', () => {
    assertShares(counts(new RandomPick(seeded(1)), ups(3, 1, 1), 50_000), [3, 1, 1], 50_000, 0.03);
  });
});

describe('least_conn', () => {
  it('picks the upstream with the fewest requests in flight', () => {
    const pool = ups(1, 1, 1);
    pool[0]!.inFlight = 3;
    pool[1]!.inFlight = 1;
    pool[2]!.inFlight = 2;
    assert.deepEqual(counts(new LeastConn(), pool, 100), [0, 100, 0]);
  });

  it('counts load per unit of weight', () => {
    const pool = ups(4, 1);
    pool[0]!.inFlight = 4;
    pool[1]!.inFlight = 2;
    assert.equal(new LeastConn().select(pool)!.name, 'u0');
  });

  it('spreads an idle pool evenly rather than piling onto the first', () => {
    assert.deepEqual(counts(new LeastConn(), ups(1, 1, 1), 300), [100, 100, 100]);
  });

  it('under simulated load, keeps in-flight counts level', () => {
    const pool = ups(1, 1, 1);
    const lc = new LeastConn();
    for (let i = 0; i < 30; i++) lc.select(pool)!.inFlight++;
    assert.deepEqual(pool.map((u) => u.inFlight), [10, 10, 10]);
  });
});

describe('p2c', () => {
  it('never picks the most loaded of three (it always loses the comparison)', () => {
    const pool = ups(1, 1, 1);
    pool[0]!.inFlight = 10;
    const seen = counts(new PowerOfTwo(seeded(2)), pool, 3000);
    assert.equal(seen[0], 0);
    assertShares(seen.slice(1), [1, 1], 3000, 0.05);
  });

  it('prefers the less loaded of two', () => {
    const pool = ups(1, 1);
    pool[1]!.inFlight = 1;
    assert.deepEqual(counts(new PowerOfTwo(seeded(3)), pool, 500), [500, 0]);
  });

  it('with equal load, spreads by weight 2:1:1 within 5% over 20,000 picks', () => {
    assertShares(counts(new PowerOfTwo(seeded(4)), ups(2, 1, 1), 20_000), [2, 1, 1], 20_000, 0.05);
  });

  it('with one available upstream, picks it', () => {
    const pool = ups(1, 1);
    pool[0]!.available = false;
    assert.equal(new PowerOfTwo(seeded(5)).select(pool, REQ)!.name, 'u1');
  });
});

describe('first', () => {
  it('the first available in order: ordered failover', () => {
    const pool = ups(1, 1, 1);
    assert.deepEqual(counts(new First(), pool, 10), [10, 0, 0]);
    pool[0]!.available = false;
    assert.deepEqual(counts(new First(), pool, 10), [0, 10, 0]);
  });
});

describe('hash (rendezvous): ip_hash, header, cookie', () => {
  const byKey = (key: string): PickRequest => ({ client: key, headers: {} });
  const keys = Array.from({ length: 10_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  const owner = (pool: Up[]) => {
    const h = new RendezvousHash(clientKey);
    return keys.map((k) => h.select(pool, byKey(k))!.name);
  };

  it('the same key goes to the same upstream from another instance, a pool in another order, between other keys', () => {
    // as another worker, or the same one after a reload, would pick: new policy, new pool objects
    const sample = keys.slice(0, 200);
    const first = owner(ups(1, 1, 1, 1)).slice(0, 200);
    const h = new RendezvousHash(clientKey);
    const reordered = ups(1, 1, 1, 1).reverse();
    const again = sample.toReversed().map((k) => h.select(reordered, byKey(k))!.name).toReversed();
    assert.deepEqual(again, first);
    assert.equal(new Set(first).size, 4, 'the keys go to all four (a constant pick would pass the line above)');
  });

  it('spreads 10,000 keys over 4 upstreams within 10% of equal shares', () => {
    const names = owner(ups(1, 1, 1, 1));
    assertShares([0, 1, 2, 3].map((i) => names.filter((n) => n === `u${i}`).length), [1, 1, 1, 1], keys.length, 0.1);
  });

  it('respects weights 2:1:1 within 10%', () => {
    const names = owner(ups(2, 1, 1));
    assertShares([0, 1, 2].map((i) => names.filter((n) => n === `u${i}`).length), [2, 1, 1], keys.length, 0.1);
  });

  it('adding a fifth upstream moves about a fifth of the keys, all of them to the new one', () => {
    const before = owner(ups(1, 1, 1, 1));
    const after = owner(ups(1, 1, 1, 1, 1));
    const moved = before.filter((name, i) => after[i] !== name);
    assert.ok(moved.length > keys.length * 0.15 && moved.length < keys.length * 0.25, `${moved.length} of ${keys.length} keys moved`);
    assert.ok(before.every((name, i) => after[i] === name || after[i] === 'u4'), 'a key moved between old upstreams');
  });

  it('an upstream going down moves only its own keys', () => {
    const pool = ups(1, 1, 1, 1);
    const before = owner(pool);
    pool[2]!.available = false;
    const after = owner(pool);
    before.forEach((name, i) => {
      if (name !== 'u2') assert.equal(after[i], name);
      else assert.notEqual(after[i], 'u2');
    });
  });

  it('keys on a header (first value) or a cookie; without the key, spreads at random', () => {
    const pool = ups(1, 1, 1);
    const byHeader = new RendezvousHash(headerKey('x-user'), seeded(6));
    const a = byHeader.select(pool, { client: '1', headers: { 'x-user': 'alice' } });
    assert.equal(byHeader.select(pool, { client: '2', headers: { 'x-user': 'alice' } }), a);
    const byCookie = new RendezvousHash(cookieKey('sid'), seeded(7));
    const c = byCookie.select(pool, { client: '1', headers: { cookie: 'theme=dark; sid=abc123' } });
    assert.equal(byCookie.select(pool, { client: '2', headers: { cookie: 'sid=abc123' } }), c);
    assertShares(counts(byCookie, pool, 3000, () => ({ client: '1', headers: {} })), [1, 1, 1], 3000, 0.1);
  });
});

describe('every policy', () => {
  const balances: Balance[] = [...POLICIES.map((p) => ({ policy: p })), { policy: 'header', name: 'x-user' }, { policy: 'cookie', name: 'sid' }];

  for (const balance of balances) {
    it(`${balance.policy}: nothing available, no pick; one available, that one`, () => {
      const policy = createPolicy(balance, seeded(8));
      const pool = ups(1, 1, 1);
      for (const u of pool) u.available = false;
      assert.equal(policy.select(pool, REQ), undefined);
      pool[1]!.available = true;
      for (let i = 0; i < 20; i++) assert.equal(policy.select(pool, REQ)!.name, 'u1');
    });
  }

  it('balance text parses to a policy, or says what is allowed', () => {
    assert.deepEqual(parseBalance('least_conn'), { policy: 'least_conn' });
    assert.deepEqual(parseBalance('header:X-User'), { policy: 'header', name: 'x-user' });
    assert.deepEqual(parseBalance('cookie:Sid'), { policy: 'cookie', name: 'Sid' });
    assert.match(parseBalance('weighted') as string, /^balance is round_robin, least_conn, random, p2c, ip_hash, first, header:NAME or cookie:NAME, got "weighted"$/);
    assert.equal(typeof parseBalance('header:'), 'string');
  });
});
