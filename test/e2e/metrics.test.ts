// /metrics on the admin endpoint, read by a real Prometheus text-format parser: request counters by
// site, route and status class move as requests are made, the latency histogram and byte counts
// follow, certificates report expiry and renewal failures; none of it is reachable on the public
// listener.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, logMessages, runEdge, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';
import { histogramBuckets, histogramCount, histogramSum, scrape, value } from '../helpers/metrics.ts';

describe('/metrics', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let admin: number;
  let https: number;
  let file: string;
  before(async () => {
    up = await startUpstream((req, res) => {
      // /slow answers after 400 ms: a request that cannot take less, for the histogram's buckets
      setTimeout(() => {
        res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'text/plain' });
        res.end('0123456789');
      }, req.url === '/slow' ? 400 : 0);
    });
    const port = await freePort();
    admin = await freePort();
    https = await freePort();
    const storage = mkdtempSync(join(tmpdir(), 'edge-metrics-'));
    ({ file } = writeConfig(`
http_port: ${port}
https_port: ${https}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
storage: ${storage}
log: { access: off }
acme: { ca: "http://127.0.0.1:${await freePort()}/dir", preflight: false }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - { match: =/fixed, respond: { status: 201, body: "fixed\\n" } }
      - { match: /, proxy: { to: ${up.address} } }
  - hosts: [secure.localhost]
    routes: [{ respond: { body: "hi" } }]
  - hosts: [unreachable-ca.example.com]
    routes: [{ respond: { body: "hi" } }]
`));
    edge = await startEdge(['run', '-c', file], { port });
    await waitFor(() => /certificate secure\.localhost: issued/.test(logMessages(edge.stderr())) && /unreachable-ca\.example\.com: FAILED/.test(logMessages(edge.stderr())),
      () => `both certificates tried:\n${logMessages(edge.stderr())}`, 30_000);
  });
  after(async () => {
    await edge.stop();
    await up.close();
  });

  it('counts requests by site, route and status class, with latency and bytes', async () => {
    const site = { site: 'test.example' };
    const before = await scrape(admin);
    for (let i = 0; i < 3; i++) assert.equal((await fetchRaw(edge.port, '/page')).status, 200);
    assert.equal((await fetchRaw(edge.port, '/slow')).status, 200);
    assert.equal((await fetchRaw(edge.port, '/missing')).status, 404);
    assert.equal((await fetchRaw(edge.port, '/fixed')).status, 201);
    assert.equal((await fetchRaw(edge.port, '/', { headers: { host: 'unknown.example' } })).status, 404);
    const now = await scrape(admin);
    const moved = (name: string, labels: Record<string, string>) => value(now, name, labels) - value(before, name, labels);
    assert.equal(moved('edge_requests_total', { ...site, route: '/', status: '2xx' }), 4);
    assert.equal(moved('edge_requests_total', { ...site, route: '/', status: '4xx' }), 1);
    assert.equal(moved('edge_requests_total', { ...site, route: '=/fixed', status: '2xx' }), 1);
    assert.equal(moved('edge_requests_total', { site: 'none', route: 'none', status: '4xx' }), 1);
    const routeLabels = 'site="test.example",route="/"';
    const count = (page: { text: string }) => histogramCount(page, 'edge_request_duration_seconds', routeLabels);
    assert.equal(count(now) - count(before), 5);
    assert.equal(moved('edge_response_bytes_total', { ...site, route: '/' }), 50);
    assert.equal(moved('edge_response_bytes_total', { ...site, route: '=/fixed' }), 6);
    const histogram = now.find((f) => f.name === 'edge_request_duration_seconds')!;
    assert.equal(histogram.type, 'HISTOGRAM');
    const buckets = (page: { text: string }) => histogramBuckets(page, 'edge_request_duration_seconds', routeLabels);
    assert.deepEqual(buckets(now).map(([le]) => le), ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '30', '+Inf']);
    const was = new Map(buckets(before));
    const into = buckets(now).map(([le, n]) => [le, n - (was.get(le) ?? 0)] as const);
    const upTo = new Map(into);
    assert.equal(upTo.get('+Inf'), 5, `every request in +Inf: ${JSON.stringify(into)}`);
    for (let i = 1; i < into.length; i++) assert.ok(into[i]![1] >= into[i - 1]![1], `buckets are cumulative: ${JSON.stringify(into)}`);
    assert.ok(upTo.get('0.25')! <= 4, `the 400 ms request is above le=0.25: ${JSON.stringify(into)}`);
    // the buckets agree with _sum: a request counted in (low, high] took more than low and at most high
    const sum = histogramSum(now, 'edge_request_duration_seconds', routeLabels) - histogramSum(before, 'edge_request_duration_seconds', routeLabels);
    const bound = (i: number) => (i < 0 ? 0 : into[i]![0] === '+Inf' ? Infinity : Number(into[i]![0]));
    let least = 0;
    let most = 0;
    into.forEach(([, n], i) => {
      const inside = n - (i > 0 ? into[i - 1]![1] : 0);
      if (inside === 0) return;
      least += inside * bound(i - 1);
      most += inside * bound(i);
    });
    assert.ok(sum >= least && sum <= most, `_sum ${sum} s fits the buckets: between ${least} and ${most} s (${JSON.stringify(into)})`);
  });

  it('reports certificate expiry and renewal failures per name', async () => {
    const families = await scrape(admin);
    const notAfter = value(families, 'edge_certificate_not_after_seconds', { name: 'secure.localhost' });
    assert.ok(notAfter > Date.now() / 1000 + 86_400, `secure.localhost expires in the future: ${notAfter}`);
    assert.equal(value(families, 'edge_certificate_renewal_failing', { name: 'secure.localhost' }), 0);
    const failing = families.find((f) => f.name === 'edge_certificate_renewal_failing')!.metrics.find((m) => m.labels?.name === 'unreachable-ca.example.com')!;
    assert.equal(Number(failing.value), 1);
    const error = failing.labels?.error;
    assert.ok(typeof error === 'string' && error.length > 0, `an error label: ${JSON.stringify(failing.labels)}`);
    const failures = logMessages(edge.stderr()).split('\n').filter((l) => l.startsWith('certificate unreachable-ca.example.com: FAILED'));
    assert.ok(failures.some((l) => l.includes(`): ${error}`)), `the label says the logged cause: ${error}\n${failures.join('\n')}`);
  });

  it('includes process metrics', async () => {
    const families = await scrape(admin);
    assert.ok(value(families, 'process_resident_memory_bytes') > 0);
  });

  it('edge cache, with no cached route, says there is none', async () => {
    const r = await runEdge(['cache', '-c', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^from running edge pid \d+ .*\nno route of the running edge has a cache\n$/);
  });

  it('is not reachable on the public listeners', async () => {
    for (const host of ['test.example', 'localhost', `127.0.0.1:${edge.port}`]) {
      const r = await fetchRaw(edge.port, '/metrics', { headers: { host } });
      assert.doesNotMatch(r.text, /edge_requests_total|# TYPE/, `Host ${host}`);
    }
    const health = await fetchRaw(edge.port, '/health', { headers: { host: 'localhost' } });
    assert.doesNotMatch(health.text, /"pid"/);
  });
});
