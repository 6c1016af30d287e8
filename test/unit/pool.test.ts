// A pool's decisions with a hand-driven clock: passive failures taking an upstream out and
// fail_timeout bringing it back, health check passes and fails, backups, max_conns, slow start,
// Retry-After; and the retry rules.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { PoolConfig, UpstreamSpec } from '../../src/config/upstream-schema.ts';
import { resolvePool } from '../../src/config/runtime.ts';
import { parseUpstream, type UpstreamAddress } from '../../src/config/address.ts';
import { Logger } from '../../src/ops/log.ts';
import { LogSink } from '../../src/ops/sink.ts';
import { Pool } from '../../src/proxy/pool.ts';
import { mayRetry, type RetryFacts } from '../../src/proxy/retry.ts';

class Lines extends Logger {
  readonly lines: string[] = [];
  constructor() {
    super(new LogSink('stdout'));
  }
  override info(m: string): void {
    this.lines.push(`info ${m}`);
  }
  override warn(m: string): void {
    this.lines.push(`warn ${m}`);
  }
  override error(m: string): void {
    this.lines.push(`error ${m}`);
  }
}

const spec = (port: number, extra: Partial<UpstreamSpec> = {}): UpstreamSpec =>
  ({ address: parseUpstream(`127.0.0.1:${port}`) as UpstreamAddress, weight: 1, max_conns: 0, backup: false, ...extra });
const REQ = { client: '192.0.2.1', headers: {} };

function makePool(to: UpstreamSpec[], settings: Partial<PoolConfig> = {}) {
  let now = 1_000_000;
  const log = new Lines();
  const pool = new Pool('app', { ...resolvePool({ to }), ...settings }, log, { now: () => now });
  return { pool, log, tick: (ms: number) => (now += ms) };
}

describe('passive health', () => {
  it('max_fails failures within fail_timeout take an upstream down for fail_timeout, with a log line each way', () => {
    const { pool, log, tick } = makePool([spec(1), spec(2)], { max_fails: 2, fail_timeout: 10_000 });
    const [a, b] = pool.members;
    pool.fail(a!, 'refused the connection');
    assert.ok(pool.isUp(a!));
    pool.fail(a!, 'refused the connection');
    assert.ok(!pool.isUp(a!));
    for (let i = 0; i < 10; i++) assert.equal(pool.select(REQ), b);
    assert.equal(pool.retryAfter(), 10);
    tick(10_001);
    assert.ok(pool.isUp(a!));
    assert.deepEqual(log.lines, [
      'warn upstream 127.0.0.1:1 of pool app is down for 10000 ms after 2 failure(s) (refused the connection)',
      'info upstream 127.0.0.1:1 of pool app is back in rotation (fail_timeout over)',
    ]);
  });

  it('failures further apart than fail_timeout do not add up', () => {
    const { pool, tick } = makePool([spec(1), spec(2)], { max_fails: 2, fail_timeout: 1000 });
    pool.fail(pool.members[0]!, 'x');
    tick(1500);
    pool.fail(pool.members[0]!, 'x');
    assert.ok(pool.isUp(pool.members[0]!));
  });

  it('a lone upstream, or max_fails 0, is never taken out', () => {
    const lone = makePool([spec(1)]);
    for (let i = 0; i < 5; i++) lone.pool.fail(lone.pool.members[0]!, 'x');
    assert.ok(lone.pool.select(REQ));
    const off = makePool([spec(1), spec(2)], { max_fails: 0 });
    for (let i = 0; i < 5; i++) off.pool.fail(off.pool.members[0]!, 'x');
    assert.ok(off.pool.isUp(off.pool.members[0]!));
  });

  it('with health checks, an upstream failed by requests comes back only after `passes` good checks', () => {
    const health = { path: '/health', interval: 2000, timeout: 1000, expect_status: undefined, passes: 2, fails: 1 };
    const { pool, tick, log } = makePool([spec(1), spec(2)], { health });
    const a = pool.members[0]!;
    pool.fail(a, 'reset the connection');
    tick(60_000);
    assert.ok(!pool.isUp(a), 'fail_timeout alone does not bring it back');
    assert.equal(pool.retryAfter(), 2);
    pool.checked(a, true, 'GET /health answered 200');
    assert.ok(!pool.isUp(a));
    pool.checked(a, true, 'GET /health answered 200');
    assert.ok(pool.isUp(a));
    assert.match(log.lines.at(-1)!, /back in rotation \(2 health check\(s\) passed\)/);
  });
});

describe('active health', () => {
  it('`fails` failed checks in a row take it down, `passes` good ones bring it back', () => {
    const health = { path: '/h', interval: 1000, timeout: 500, expect_status: 200, passes: 1, fails: 2 };
    const { pool } = makePool([spec(1), spec(2)], { health });
    const a = pool.members[0]!;
    pool.checked(a, false, 'ECONNREFUSED');
    pool.checked(a, true, 'ok');
    pool.checked(a, false, 'ECONNREFUSED');
    assert.ok(pool.isUp(a), 'failures not in a row');
    pool.checked(a, false, 'ECONNREFUSED');
    assert.ok(!pool.isUp(a));
    assert.equal(pool.views()[0]!.last_error, 'health check: ECONNREFUSED');
    pool.checked(a, true, 'ok');
    assert.ok(pool.isUp(a));
  });
});

describe('selection', () => {
  it('backups only while no primary is available', () => {
    const { pool } = makePool([spec(1), spec(2, { backup: true })]);
    const [a, backup] = pool.members;
    for (let i = 0; i < 5; i++) assert.equal(pool.select(REQ), a);
    a!.down = true;
    assert.equal(pool.select(REQ), backup);
    backup!.down = true;
    assert.equal(pool.select(REQ), undefined);
  });

  it('max_conns: a full upstream is skipped; all full is none', () => {
    const { pool } = makePool([spec(1, { max_conns: 1 }), spec(2, { max_conns: 1 })]);
    const first = pool.select(REQ)!;
    pool.begin(first);
    const second = pool.select(REQ)!;
    assert.notEqual(second, first);
    pool.begin(second);
    assert.equal(pool.select(REQ), undefined);
    assert.match(pool.summary(), /0 of 2 down, 2 at max_conns/);
    pool.end(first);
    assert.equal(pool.select(REQ), first);
  });

  it('skips upstreams this request already tried', () => {
    const { pool } = makePool([spec(1), spec(2)]);
    const a = pool.select(REQ)!;
    assert.notEqual(pool.select(REQ, [a]), a);
    assert.equal(pool.select(REQ, pool.members), undefined);
  });

  it('slow_start ramps an upstream back from a tenth of its weight', () => {
    const { pool, tick } = makePool([spec(1, { weight: 10 }), spec(2, { weight: 10 })], { slow_start: 10_000, fail_timeout: 1000 });
    const a = pool.members[0]!;
    pool.fail(a, 'x');
    tick(1001);
    pool.select(REQ);
    assert.equal(a.weight, 1);
    tick(5000);
    pool.select(REQ);
    assert.equal(a.weight, 5);
    tick(5000);
    pool.select(REQ);
    assert.equal(a.weight, 10);
  });

  it('reports each upstream for /upstreams and /metrics', () => {
    const { pool } = makePool([spec(1), spec(2)]);
    pool.fail(pool.members[0]!, 'refused the connection');
    const [view] = pool.views();
    assert.equal(view!.state, 'down');
    assert.equal(view!.failures, 1);
    assert.equal(view!.last_error, 'refused the connection');
    const up = pool.samples().filter((s) => s.name === 'edge_upstream_up');
    assert.deepEqual(up.map((s) => [s.labels, s.value]), [[{ pool: 'app', upstream: '127.0.0.1:1' }, 0], [{ pool: 'app', upstream: '127.0.0.1:2' }, 1]]);
  });
});

describe('retry rules', () => {
  const base: RetryFacts = { method: 'GET', code: 'ECONNRESET', replayable: true, headersSent: false, retried: 0, retries: 2, elapsed: 0, tryDuration: 5000 };
  const cases: [string, Partial<RetryFacts>, boolean][] = [
    ['GET whose upstream reset the connection', {}, true],
    ['POST whose upstream refused the connection (never received it)', { method: 'POST', code: 'ECONNREFUSED' }, true],
    ['POST to a missing socket file', { method: 'POST', code: 'ENOENT' }, true],
    ['POST whose upstream reset the connection (it may have acted on it)', { method: 'POST' }, false],
    ['PATCH after a fail_status answer', { method: 'PATCH', code: undefined }, false],
    ['PUT after a fail_status answer', { method: 'PUT', code: undefined }, true],
    ['GET after a read timeout (the upstream may still be at it)', { code: 'EUPSTREAM_TIMEOUT' }, false],
    ['GET after a connect timeout', { code: 'ECONNECT_TIMEOUT' }, true],
    ['a body that streamed and cannot be replayed', { replayable: false, code: 'ECONNREFUSED' }, false],
    ['after the response began', { headersSent: true }, false],
    ['retries used up', { retried: 2 }, false],
    ['try_duration over', { elapsed: 5000 }, false],
  ];
  for (const [name, facts, expected] of cases) {
    it(`${name}: ${expected ? 'retried' : 'not retried'}`, () => assert.equal(mayRetry({ ...base, ...facts }), expected));
  }
});
