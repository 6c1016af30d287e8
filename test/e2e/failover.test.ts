// Failover with real upstream processes on TCP and Unix sockets: an upstream killed under load,
// brought back by health checks, one that hangs, all of them down, a POST whose upstream dies
// with it, and an upstream that drops keep-alive connections. Each prints its request counts.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';
import { startApp, type AppProcess } from '../helpers/app-process.ts';

const started: { stop(): Promise<unknown> }[] = [];
after(async () => {
  for (const s of started.reverse()) await s.stop();
});

async function app(name: string, where: number | string, mode?: string): Promise<AppProcess> {
  const a = await startApp(name, where, mode);
  started.push({ stop: () => a.kill() });
  return a;
}

async function edgeWith(pool: string, route = 'proxy: { upstream: app }'): Promise<{ edge: EdgeProcess; admin: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'edge-lb-'));
  const admin = join(dir, 'admin.sock');
  const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: unix:${admin}
log: { access: off }
upstreams:
  app:
${pool.trim().split('\n').map((l) => `    ${l}`).join('\n')}
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - ${route}
`);
  const edge = await startEdge(['run', '-c', file], { port });
  started.push(edge);
  return { edge, admin };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  ms: number;
}

function send(port: number, opts: { method?: string; path?: string; body?: string; agent?: Agent } = {}): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'GET', headers: { host: 'test.example' }, agent: opts.agent ?? false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

interface LoadResult {
  total: number;
  failed: number;
  failures: string[];
  byUpstream: Record<string, number>;
}

/** GETs from `concurrency` keep-alive clients for `ms` (at most `max` requests); `during` runs meanwhile. */
async function load(port: number, ms: number, max: number, concurrency: number, during: () => Promise<void> = async () => {}): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const result: LoadResult = { total: 0, failed: 0, failures: [], byUpstream: {} };
  const end = Date.now() + ms;
  const worker = async () => {
    while (Date.now() < end && result.total < max) {
      result.total++;
      try {
        const r = await send(port, { agent, path: `/n${result.total}` });
        if (r.status === 200) result.byUpstream[r.text] = (result.byUpstream[r.text] ?? 0) + 1;
        else {
          result.failed++;
          result.failures.push(`${r.status} ${r.text.trim()}`);
        }
      } catch (err) {
        result.failed++;
        result.failures.push((err as Error).message);
      }
    }
  };
  await Promise.all([...Array.from({ length: concurrency }, worker), during()]);
  agent.destroy();
  return result;
}

interface UpstreamState {
  pool: string;
  address: string;
  state: string;
  failures: number;
  last_error?: string;
}

function upstreams(admin: string): Promise<UpstreamState[]> {
  return new Promise((resolve, reject) => {
    request({ socketPath: admin, path: '/upstreams', headers: { host: 'localhost' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve((JSON.parse(text) as { upstreams: UpstreamState[] }).upstreams));
    }).on('error', reject).end();
  });
}

const report = (what: string, r: LoadResult) =>
  console.log(`# ${what}: ${r.total} requests, ${r.failed} failed; per upstream ${JSON.stringify(r.byUpstream)}${r.failures.length ? `; failures: ${r.failures.slice(0, 5).join(' | ')}` : ''}`);

describe('failover', () => {
  it('(1) one of three upstreams killed under steady GET load: no client sees a failure; (2) health checks bring it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-app-'));
    const a = await app('a', await freePort());
    const b = await app('b', await freePort());
    const c = await app('c', join(dir, 'c.sock'));
    const { edge, admin } = await edgeWith(`
to: [${a.address}, ${b.address}, ${c.address}]
health: { path: /health, interval: 200ms, timeout: 1s, passes: 2 }
`);
    const result = await load(edge.port, 4000, 20_000, 8, async () => {
      await new Promise((r) => setTimeout(r, 1000));
      await c.kill();
    });
    report('(1) kill one of three under load', result);
    assert.equal(result.failed, 0, result.failures.join('\n'));
    assert.ok((result.byUpstream.c ?? 0) > 0, 'c served before it was killed');
    const down = (await upstreams(admin)).find((u) => u.address === c.address)!;
    assert.equal(down.state, 'down');
    assert.match(edge.stderr(), /upstream unix:\S+c\.sock of pool app is down/);

    const back = await app('c', join(dir, 'c.sock'));
    const t0 = Date.now();
    await waitFor(() => /upstream unix:\S+c\.sock of pool app is back in rotation \(2 health check\(s\) passed\)/.test(edge.stderr()), 'c back in rotation', 10_000);
    const after = await load(edge.port, 10_000, 300, 4);
    report(`(2) after c restarted (back in rotation ${Date.now() - t0} ms after restart)`, after);
    assert.equal(after.failed, 0);
    assert.ok((after.byUpstream.c ?? 0) >= 50, `c got ${after.byUpstream.c ?? 0} of 300`);
    assert.equal((await upstreams(admin)).find((u) => u.address === c.address)!.state, 'up');
    assert.ok(back.requests().length > 0);
  });

  it('(3) an upstream that hangs: 504 within the read timeout, marked down, traffic moves', async () => {
    const hang = await app('hang', await freePort(), 'hang');
    const ok = await app('ok', await freePort());
    const { edge, admin } = await edgeWith(`
to: [${hang.address}, ${ok.address}]
balance: first
`, 'proxy: { upstream: app, timeouts: { read: 1s } }');
    const first = await send(edge.port);
    console.log(`# (3) hanging upstream: ${first.status} after ${Math.round(first.ms)} ms (read timeout 1000 ms)`);
    assert.equal(first.status, 504);
    assert.ok(first.ms >= 900 && first.ms < 3000, `${first.ms} ms`);
    assert.equal((await upstreams(admin)).find((u) => u.address === hang.address)!.state, 'down');
    const rest = await load(edge.port, 10_000, 50, 2);
    report('(3) after the hang', rest);
    assert.deepEqual(rest.byUpstream, { ok: 50 });
    assert.equal(hang.requests().length, 1);
  });

  it('(4) all upstreams down: 503 with Retry-After within 100 ms', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-app-'));
    const { edge, admin } = await edgeWith(`
to: [127.0.0.1:${await freePort()}, unix:${join(dir, 'none.sock')}]
health: { path: /health, interval: 1s }
`);
    await waitFor(() => /is down: 1 health check/.test(edge.stderr()) && (edge.stderr().match(/is down/g) ?? []).length === 2, 'both marked down');
    const warm = await send(edge.port);
    console.log(`# (4) first request after both went down (a cold code path): ${warm.status} in ${warm.ms.toFixed(1)} ms`);
    const replies: Reply[] = [];
    for (let i = 0; i < 20; i++) replies.push(await send(edge.port));
    const times = replies.map((r) => r.ms).sort((x, y) => x - y);
    const median = times[times.length >> 1]!;
    const slowest = times.at(-1)!;
    console.log(`# (4) all down: ${replies.length} requests, statuses ${[...new Set(replies.map((r) => r.status))].join(',')}, Retry-After ${replies[0]!.headers['retry-after']}, median ${median.toFixed(1)} ms, slowest ${slowest.toFixed(1)} ms (each on a new connection)`);
    for (const r of replies) {
      assert.equal(r.status, 503);
      assert.equal(r.headers['retry-after'], '1');
    }
    // the median holds the 100 ms the issue asks; the slowest gets room for a busy shared machine
    assert.ok(median < 100, `median 503 took ${median} ms`);
    assert.ok(slowest < 1000, `slowest 503 took ${slowest} ms`);
    assert.match(edge.stderr(), /503 GET \/ on test.example: no upstream of pool app is available \(2 of 2 down\)/);
    assert.ok((await upstreams(admin)).every((u) => u.state === 'down'));
  });

  it('(5) a POST whose upstream dies after receiving it is not retried; one that was refused is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-app-'));
    const a = await app('a', await freePort(), 'die-on-post');
    const b = await app('b', join(dir, 'b.sock'), 'die-on-post');
    const { edge } = await edgeWith(`to: [${a.address}, ${b.address}]`);
    const r = await send(edge.port, { method: 'POST', path: '/order', body: 'item=1' });
    const seen = [...a.requests(), ...b.requests()].filter((l) => l === 'POST /order');
    console.log(`# (5) POST to an upstream that died with it: ${r.status}; upstreams that saw it: ${seen.length}`);
    assert.equal(r.status, 502);
    assert.equal(seen.length, 1);

    const alive = await app('alive', await freePort());
    const refused = await freePort();
    const second = await edgeWith(`to: [127.0.0.1:${refused}, ${alive.address}]\nbalance: first`);
    const retried = await send(second.edge.port, { method: 'POST', path: '/order', body: 'item=2' });
    console.log(`# (5) POST to a refused upstream: ${retried.status} from ${retried.text}`);
    assert.equal(retried.status, 200);
    assert.equal(retried.text, 'alive:6', 'the held body was sent again whole');
    assert.deepEqual(alive.requests(), ['POST /order']);
  });

  it('(6) upstreams that drop keep-alive connections after every 5 requests cause no client errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edge-app-'));
    const a = await app('a', await freePort(), 'close-every-5');
    const b = await app('b', join(dir, 'b.sock'), 'close-every-5');
    const { edge } = await edgeWith(`to: [${a.address}, ${b.address}]`);
    const result = await load(edge.port, 4000, 20_000, 8);
    report('(6) keep-alive connections dropped every 5 requests', result);
    assert.equal(result.failed, 0, result.failures.join('\n'));
    assert.ok(result.total >= 500, `only ${result.total} requests`);
    assert.doesNotMatch(edge.stderr(), /is down/);
  });
});
