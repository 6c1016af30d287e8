// rate_limit (429 with Retry-After past the bucket) and conn_limit (503 with Retry-After past the
// requests in progress) over real sockets; a refused request never reaches the upstream, and
// /metrics counts each refusal under its route.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { freePort, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';
import { writeConfig } from '../helpers/config.ts';
import { scrape } from '../helpers/metrics.ts';

describe('rate_limit and conn_limit', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let port: number;
  let adminPort: number;
  const held: ServerResponse[] = [];

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url!.startsWith('/slow/')) held.push(res);
      else res.end(`ok ${req.url}`);
    });
    port = await freePort();
    adminPort = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${adminPort}
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /limited/
        rate_limit: { rate: 1/m, burst: 2 }
        proxy: { to: ${up.address} }
      - match: /keyed/
        rate_limit: { rate: 1/m, burst: 1, key: "header:X-Api-Key" }
        proxy: { to: ${up.address} }
      - match: /slow/
        conn_limit: { max: 2 }
        proxy: { to: ${up.address} }
      - match: /
        proxy: { to: ${up.address} }
`);
    edge = await startEdge(['run', '-c', file], { port });
  });

  after(async () => {
    for (const res of held) res.end();
    await edge.stop();
    await up.close();
  });

  it('past the burst: 429 with Retry-After, and the upstream is not asked', async () => {
    assert.equal((await fetchRaw(port, '/limited/1')).status, 200);
    assert.equal((await fetchRaw(port, '/limited/2')).status, 200);
    const before = up.requests.length;
    const third = await fetchRaw(port, '/limited/3');
    assert.equal(third.status, 429);
    const wait = Number(third.headers['retry-after']);
    assert.ok(wait > 1 && wait <= 60, `Retry-After ${third.headers['retry-after']}`);
    assert.equal(up.requests.length, before);
    assert.equal((await fetchRaw(port, '/other')).status, 200, 'other routes are not limited');
  });

  it('keyed by a header: each key its own bucket', async () => {
    assert.equal((await fetchRaw(port, '/keyed/', { headers: { 'x-api-key': 'a' } })).status, 200);
    assert.equal((await fetchRaw(port, '/keyed/', { headers: { 'x-api-key': 'a' } })).status, 429);
    assert.equal((await fetchRaw(port, '/keyed/', { headers: { 'x-api-key': 'b' } })).status, 200);
  });

  it('past max requests in progress: 503 with Retry-After; a place is free again once one ends', async () => {
    const first = fetchRaw(port, '/slow/1');
    const second = fetchRaw(port, '/slow/2');
    await waitFor(() => held.length === 2, 'two requests held at the upstream');
    const third = await fetchRaw(port, '/slow/3');
    assert.equal(third.status, 503);
    assert.equal(third.headers['retry-after'], '1');
    assert.equal(held.length, 2, 'the third never reached the upstream');
    held[0]!.end('done');
    assert.equal((await first).status, 200);
    const fourth = fetchRaw(port, '/slow/4');
    await waitFor(() => held.length === 3, 'the fourth at the upstream');
    held[1]!.end('done');
    held[2]!.end('done');
    assert.equal((await second).status, 200);
    assert.equal((await fourth).status, 200);
  });

  it('/metrics counts the refusals per route and reason', async () => {
    const page = await scrape(adminPort);
    const family = page.find((f) => f.name === 'edge_access_refused_total');
    assert.ok(family, page.text);
    const value = (route: string, reason: string) => family.metrics.find((m) => m.labels?.route === route && m.labels?.reason === reason && m.labels?.site === 'test.example')?.value;
    assert.equal(value('/limited/', 'rate_limit'), '1');
    assert.equal(value('/keyed/', 'rate_limit'), '1');
    assert.equal(value('/slow/', 'conn_limit'), '1');
  });
});
