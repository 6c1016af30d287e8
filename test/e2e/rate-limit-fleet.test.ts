// rate_limit in fleet mode: two edge instances sharing storage: redis://... count a key together,
// so the fleet allows `burst` in all; with Redis stopped each instance goes on limiting alone
// (its insurance limiter), and no request waits on the missing Redis.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startEdge, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';
import { writeConfig } from '../helpers/config.ts';
import { startRedis, type RedisServer } from '../helpers/redis.ts';

describe('rate_limit shared through Redis', () => {
  let redis: RedisServer;
  let up: Upstream;
  const edges: EdgeProcess[] = [];

  before(async () => {
    redis = await startRedis();
    up = await startUpstream((_req, res) => res.end('ok'));
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: off
storage: "${redis.url}?prefix=ratefleet:"
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /api/
        rate_limit: { rate: 1/m, burst: 3 }
        proxy: { to: ${up.address} }
`);
      edges.push(await startEdge(['run', '-c', file], { port, startMs: 30_000 }));
    }
  });

  after(async () => {
    for (const edge of edges) await edge.stop();
    await up.close();
    await redis.destroy();
  });

  it('the burst holds across the two instances', async () => {
    const statuses: number[] = [];
    for (const edge of [edges[0]!, edges[1]!, edges[0]!, edges[1]!, edges[1]!]) {
      statuses.push((await fetchRaw(edge.port, '/api/x')).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  });

  it('with Redis down, each instance limits on its own, without waiting for Redis', async () => {
    await redis.stop();
    const started = performance.now();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetchRaw(edges[0]!.port, '/api/y', { timeoutMs: 5000 })).status);
    assert.deepEqual(statuses, [200, 200, 200, 429], 'the local limit: burst 3');
    assert.ok(performance.now() - started < 4000, 'no request waited on the missing Redis');
  });
});
