// /metrics carries what the upstream pools and the cache report (MetricSource), read by a real
// Prometheus text-format parser: hits and misses move with requests, an upstream's in-flight
// count shows a request the upstream is still holding, a dead upstream shows as down with its
// failures counted.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { freePort, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';
import { scrape, value } from '../helpers/metrics.ts';

describe('/metrics from pools and caches', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let port: number;
  let admin: number;
  let dead: string;
  const held: ServerResponse[] = [];
  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/hold') {
        held.push(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=600' });
      res.end('cacheable');
    });
    dead = `127.0.0.1:${await freePort()}`;
    port = await freePort();
    admin = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
log: { access: off }
upstreams:
  app: { to: [${up.address}] }
  gone: { to: [${dead}, ${dead.replace('127.0.0.1', 'localhost')}], max_fails: 1, fail_timeout: 60s }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - { match: /gone/, proxy: { upstream: gone } }
      - { match: /, proxy: { upstream: app }, cache: { max_size: 1MB, zone: main } }
`);
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    for (const res of held) res.end();
    await edge.stop();
    await up.close();
  });

  it('counts cache misses and hits as they happen', async () => {
    const zone = { zone: 'main' };
    const before = await scrape(admin);
    const hits0 = value(before, 'edge_cache_hits_total', zone);
    const misses0 = value(before, 'edge_cache_misses_total', zone);
    for (let i = 0; i < 4; i++) assert.equal((await fetchRaw(port, '/page')).status, 200);
    const page = await scrape(admin);
    assert.equal(value(page, 'edge_cache_misses_total', zone) - misses0, 1);
    assert.equal(value(page, 'edge_cache_hits_total', zone) - hits0, 3);
    assert.ok(value(page, 'edge_cache_bytes', zone) > 0, 'the stored response takes bytes');
    assert.equal(up.requests.filter((r) => r.url === '/page').length, 1);
  });

  it('shows a request the upstream is holding as in flight, and none once it is answered', async () => {
    const labels = { pool: 'app', upstream: up.address };
    assert.equal(value(await scrape(admin), 'edge_upstream_in_flight', labels), 0);
    const pending = fetchRaw(port, '/hold', { headers: { 'cache-control': 'no-store' } });
    await waitFor(() => held.length === 1, 'the upstream got /hold');
    assert.equal(value(await scrape(admin), 'edge_upstream_in_flight', labels), 1);
    assert.equal(value(await scrape(admin), 'edge_upstream_up', labels), 1);
    held[0]!.end('done');
    assert.equal((await pending).status, 200);
    assert.equal(value(await scrape(admin), 'edge_upstream_in_flight', labels), 0);
  });

  it('shows upstreams that refuse connections as down, with their failures counted', async () => {
    assert.equal((await fetchRaw(port, '/gone/x')).status, 502);
    const page = await scrape(admin);
    for (const upstream of [dead, dead.replace('127.0.0.1', 'localhost')]) {
      assert.equal(value(page, 'edge_upstream_up', { pool: 'gone', upstream }), 0, `${upstream} down`);
      assert.equal(value(page, 'edge_upstream_failures_total', { pool: 'gone', upstream }), 1, `${upstream} failed once`);
    }
  });
});
