// Balancing end to end: weighted round robin, cookie stickiness and ordered failover through a
// running edge, and the pools' state on the admin endpoint's GET /upstreams.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEdge, type EdgeProcess } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';

describe('balancing policies through edge', () => {
  let ups: Upstream[];
  let edge: EdgeProcess;
  let admin: string;
  before(async () => {
    ups = [
      await startUpstream((_req, res) => res.end('a')),
      await startUpstream((_req, res) => res.end('b'), { unix: true }),
      await startUpstream((_req, res) => res.end('c')),
      await startUpstream((_req, res) => {
        res.writeHead(503);
        res.end('overloaded');
      }),
    ];
    const [a, b, c, busy] = ups.map((u) => u.address);
    admin = join(mkdtempSync(join(tmpdir(), 'edge-admin-')), 'admin.sock');
    const port = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: unix:${admin}
log: { access: off }
upstreams:
  sticky: { to: [${a}, ${b}, ${c}], balance: "cookie:sid" }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /rr/
        proxy: { to: [{ address: ${a}, weight: 2 }, ${b}] }
      - match: /sticky/
        proxy: { upstream: sticky }
      - match: /also-sticky/
        proxy: { upstream: sticky }
      - match: /first/
        proxy: { to: [${c}, ${a}], balance: first }
      - match: /flaky/
        proxy: { to: [${busy}, ${a}], balance: first, fail_status: [503] }
`);
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    await edge.stop();
    for (const u of ups) await u.close();
  });

  const bodies = async (path: string, n: number, headers: Record<string, string> = {}) => {
    const seen: string[] = [];
    for (let i = 0; i < n; i++) seen.push((await fetchRaw(edge.port, path, { headers })).text);
    return seen;
  };

  it('round_robin with weights 2:1 sends exactly two of every three requests to the heavier', async () => {
    const seen = await bodies('/rr/x', 30);
    assert.equal(seen.filter((s) => s === 'a').length, 20);
    assert.equal(seen.filter((s) => s === 'b').length, 10);
  });

  it('cookie:sid keeps a session on one upstream, across the routes sharing the pool', async () => {
    const one = await bodies('/sticky/x', 10, { cookie: 'sid=alice' });
    const two = await bodies('/also-sticky/y', 10, { cookie: 'theme=x; sid=alice' });
    assert.equal(new Set([...one, ...two]).size, 1);
    const many = new Set<string>();
    for (let i = 0; i < 30; i++) many.add((await fetchRaw(edge.port, '/sticky/x', { headers: { cookie: `sid=user${i}` } })).text);
    assert.ok(many.size >= 2, `30 sessions all went to ${[...many]}`);
  });

  it('first sends everything to the first listed upstream', async () => {
    assert.deepEqual(new Set(await bodies('/first/x', 10)), new Set(['c']));
  });

  it('fail_status: a GET answered 503 is retried on the next upstream, and the 503 one is taken out', async () => {
    const before = ups[3]!.requests.length;
    assert.deepEqual(await bodies('/flaky/x', 5), ['a', 'a', 'a', 'a', 'a']);
    assert.equal(ups[3]!.requests.length, before + 1);
    assert.match(edge.stderr(), /upstream 127\.0\.0\.1:\d+ of pool route \/flaky\/ is down for 10000 ms after 1 failure\(s\) \(answered 503\)/);
    const post = await fetchRaw(edge.port, '/flaky/x', { method: 'POST', body: 'x' });
    assert.equal(post.text, 'a', 'the 503 upstream is out of rotation');
  });

  it('GET /upstreams shows every pool in use: address, state, in flight, failures', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      request({ socketPath: admin, path: '/upstreams', headers: { host: 'localhost' } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(text));
      }).on('error', reject).end();
    });
    const list = (JSON.parse(body) as { upstreams: { pool: string; address: string; state: string; in_flight: number; failures: number }[] }).upstreams;
    assert.deepEqual(list.map((u) => [u.pool, u.address]), [
      ['route /rr/', ups[0]!.address], ['route /rr/', ups[1]!.address],
      ['sticky', ups[0]!.address], ['sticky', ups[1]!.address], ['sticky', ups[2]!.address],
      ['route /first/', ups[2]!.address], ['route /first/', ups[0]!.address],
      ['route /flaky/', ups[3]!.address], ['route /flaky/', ups[0]!.address],
    ]);
    const flaky = list.find((u) => u.pool === 'route /flaky/' && u.address === ups[3]!.address)!;
    assert.equal(flaky.state, 'down');
    assert.equal(flaky.failures, 1);
    assert.ok(list.filter((u) => u !== flaky).every((u) => u.state === 'up' && u.in_flight === 0 && u.failures === 0));
  });
});
