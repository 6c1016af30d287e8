// The HTTP cache end to end, against a real upstream that counts what reaches it: hits and misses,
// revalidation (304 upstream, 200 to the client), stale-while-revalidate, stale-if-error with the
// upstream gone, coalescing of 100 concurrent misses, objects over max_object_size, invalidation
// by POST, purge through the admin endpoint, HEAD from a stored GET, Vary and Set-Cookie.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { freePort, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';

const MiB = 1024 * 1024;
const BIG = Buffer.alloc(2 * MiB, 'b');
const hits = new Map<string, number>();
let version = 1;

function count(path: string): number {
  return hits.get(path) ?? 0;
}

function app(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url!.split('?')[0]!;
  hits.set(path, count(path) + 1);
  const n = count(path);
  const send = (headers: Record<string, string | string[]>, body = `${path} #${n}`) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (req.method === 'POST') {
    res.writeHead(201, { location: '/items/new', 'content-length': 0 });
    res.end();
    return;
  }
  switch (path.replace(/^\/(\w+).*$/, '$1')) {
    case 'fresh': return send({ 'cache-control': 'max-age=60' });
    case 'items': return send({ 'cache-control': 'max-age=60' });
    case 'tagged': return send({ 'cache-control': 'max-age=60', etag: '"t1"', 'last-modified': 'Tue, 01 Dec 2026 10:00:00 GMT' });
    case 'nostore': return send({ 'cache-control': 'no-store' });
    case 'private': return send({ 'cache-control': 'private, max-age=60' });
    case 'cookie': return send({ 'cache-control': 'max-age=60', 'set-cookie': 'a=1' });
    case 'vary': return send({ 'cache-control': 'max-age=60', vary: 'Accept-Language' }, `${req.headers['accept-language']} #${n}`);
    case 'etag': {
      const tag = `"v${version}"`;
      if (req.headers['if-none-match'] === tag) {
        res.writeHead(304, { etag: tag, 'cache-control': 'max-age=0', 'x-revalidated': String(n) });
        res.end();
        return;
      }
      return send({ 'cache-control': 'max-age=0', etag: tag }, `etag body v${version}`);
    }
    case 'swr':
      // the refresh is slow, so a client waiting for it would notice
      setTimeout(() => send({ 'cache-control': 'max-age=1, stale-while-revalidate=60' }), n > 1 ? 1500 : 0);
      return;
    case 'upd':
      setTimeout(() => send({ 'cache-control': 'max-age=1' }), n > 1 ? 1500 : 0);
      return;
    case 'halting':
      // the head at once, the body later: a client that leaves after the head
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60', 'content-length': 10 });
      res.write('12345');
      setTimeout(() => res.end('67890'), 500);
      return;
    case 'slow': setTimeout(() => send({ 'cache-control': 'max-age=60' }), 400); return;
    case 'big':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60', 'content-length': BIG.length });
      res.end(BIG);
      return;
    case 'bigchunked':
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60' });
      res.write(BIG.subarray(0, MiB));
      res.end(BIG.subarray(MiB));
      return;
    default: return send({});
  }
}

let up: Upstream;
let edge: EdgeProcess;
let admin: number;

async function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  return fetchRaw(edge.port, path, { headers, method });
}

before(async () => {
  up = await startUpstream(app);
  const port = await freePort();
  admin = await freePort();
  const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
log: { access: off }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /upd/
        proxy: { to: ${up.address} }
        cache: { use_stale: [updating] }
      - proxy: { to: ${up.address} }
        cache: { max_size: 64MiB, max_object_size: 1MiB, bypass: { cookies: [session] } }
`);
  edge = await startEdge(['run', '-c', file], { port });
});

after(async () => {
  await edge?.stop();
  await up?.close();
});

describe('cache: hits and misses', () => {
  it('stores a fresh response and serves it again without the upstream, with Age and Cache-Status', async () => {
    const first = await get('/fresh/a');
    assert.equal(first.status, 200);
    assert.match(String(first.headers['cache-status']), /^edge; fwd=uri-miss; fwd-status=200; stored$/);
    const second = await get('/fresh/a');
    assert.equal(second.text, '/fresh/a #1');
    assert.match(String(second.headers['cache-status']), /^edge; hit; ttl=\d+$/);
    assert.match(String(second.headers.age), /^\d+$/);
    assert.equal(second.headers['content-length'], String('/fresh/a #1'.length));
    assert.equal(count('/fresh/a'), 1);
  });

  it('answers HEAD from the stored GET', async () => {
    await get('/fresh/head');
    const head = await get('/fresh/head', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.match(String(head.headers['cache-status']), /hit/);
    assert.equal(count('/fresh/head'), 1);
  });

  it('a query string is part of the key', async () => {
    await get('/fresh/q?x=1');
    await get('/fresh/q?x=2');
    await get('/fresh/q?x=1');
    assert.equal(count('/fresh/q'), 2);
  });

  it('does not store no-store, private or Set-Cookie responses', async () => {
    for (const path of ['/nostore', '/private', '/cookie']) {
      const a = await get(path);
      await get(path);
      assert.equal(count(path), 2, path);
      assert.match(String(a.headers['cache-status']), /detail=(no-store|private|set-cookie)/);
    }
  });

  it('a request with Authorization is not answered from an entry stored without public', async () => {
    await get('/fresh/auth');
    const authed = await get('/fresh/auth', { authorization: 'Bearer x' });
    assert.match(String(authed.headers['cache-status']), /detail=authorization/);
    assert.equal(count('/fresh/auth'), 2);
  });

  it('keeps Vary variants apart and normalises the values', async () => {
    const en = await get('/vary', { 'accept-language': 'en' });
    const fr = await get('/vary', { 'accept-language': 'fr' });
    const en2 = await get('/vary', { 'accept-language': 'EN' });
    assert.equal(en.text, 'en #1');
    assert.equal(fr.text, 'fr #2');
    assert.equal(en2.text, 'en #1');
    assert.equal(count('/vary'), 2);
  });

  it('bypasses the cache for a configured cookie', async () => {
    await get('/fresh/bypass');
    const b = await get('/fresh/bypass', { cookie: 'x=1; session=abc' });
    assert.equal(b.headers['cache-status'], 'edge; fwd=bypass');
    assert.equal(count('/fresh/bypass'), 2);
  });

  it('answers client conditionals from a fresh stored response with 304, without the upstream', async () => {
    await get('/tagged');
    const inm = await get('/tagged', { 'if-none-match': 'W/"t1"' });
    assert.equal(inm.status, 304);
    assert.equal(inm.headers.etag, '"t1"');
    assert.match(String(inm.headers['cache-status']), /^edge; hit/);
    const ims = await get('/tagged', { 'if-modified-since': 'Tue, 01 Dec 2026 10:00:00 GMT' });
    assert.equal(ims.status, 304);
    const other = await get('/tagged', { 'if-none-match': '"t0"' });
    assert.equal(other.status, 200);
    assert.equal(count('/tagged'), 1);
  });

  it('answers a client conditional after revalidating a stale entry with 304', async () => {
    const first = await get('/etag');
    assert.equal(first.status, 200);
    // max-age=0: stale at once, so this goes upstream as a revalidation; the client still gets 304
    const cond = await get('/etag', { 'if-none-match': '"v1"' });
    assert.equal(cond.status, 304);
  });
});

describe('cache: revalidation', () => {
  it('revalidates a stale entry with If-None-Match: 304 upstream, 200 with the stored body to the client', async () => {
    const before = count('/etag');
    const again = await get('/etag');
    assert.equal(again.status, 200);
    assert.equal(again.text, 'etag body v1');
    assert.equal(count('/etag'), before + 1);
    const last = up.requests.at(-1)!;
    assert.equal(last.headers['if-none-match'], '"v1"');
    assert.match(String(again.headers['cache-status']), /fwd=stale; fwd-status=304; stored/);
    // the 304's headers replaced the stored ones
    assert.equal(again.headers['x-revalidated'], String(count('/etag')));
  });

  it('a changed representation replaces the stored one', async () => {
    version = 2;
    const changed = await get('/etag');
    assert.equal(changed.text, 'etag body v2');
    assert.match(String(changed.headers['cache-status']), /fwd-status=200; stored/);
  });

  it('a request with no-cache goes upstream even when the entry is fresh', async () => {
    await get('/fresh/nc');
    await get('/fresh/nc', { 'cache-control': 'no-cache' });
    assert.equal(count('/fresh/nc'), 2);
    const only = await get('/fresh/never', { 'cache-control': 'only-if-cached' });
    assert.equal(only.status, 504);
    assert.equal(count('/fresh/never'), 0);
  });
});

describe('cache: stale serving', () => {
  it('stale-while-revalidate answers at once from the stale entry while one background refresh runs', async () => {
    await get('/swr');
    await new Promise((r) => setTimeout(r, 2100));
    const started = performance.now();
    const answers = await Promise.all([get('/swr'), get('/swr'), get('/swr')]);
    const took = performance.now() - started;
    for (const a of answers) {
      assert.equal(a.text, '/swr #1');
      assert.match(String(a.headers['cache-status']), /hit; ttl=-\d+/);
    }
    // the refresh takes 1.5 s upstream; the stale answers must not have waited for it
    assert.ok(took < 1000, `stale answers took ${took} ms`);
    await waitFor(() => count('/swr') === 2, 'one background refresh');
    await new Promise((r) => setTimeout(r, 1700));
    assert.equal(count('/swr'), 2, 'exactly one refresh');
    const fresh = await get('/swr');
    assert.equal(fresh.text, '/swr #2');
  });

  it('use_stale: [updating] serves stale while one refresh runs, without stale-while-revalidate', async () => {
    await get('/upd/x');
    await new Promise((r) => setTimeout(r, 2100));
    const started = performance.now();
    const a = await get('/upd/x');
    assert.ok(performance.now() - started < 1000);
    assert.equal(a.text, '/upd/x #1');
    await waitFor(() => count('/upd/x') === 2, 'the refresh');
  });

  it('a client that leaves during a miss does not stop the response being stored', async () => {
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: edge.port, path: '/halting', headers: { host: 'test.example' } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      req.end();
    });
    await new Promise((r) => setTimeout(r, 800));
    const again = await get('/halting');
    assert.equal(again.text, '1234567890');
    assert.match(String(again.headers['cache-status']), /^edge; hit/);
    assert.equal(count('/halting'), 1);
  });

  it('coalesces 100 concurrent misses into one upstream request', async () => {
    const answers = await Promise.all(Array.from({ length: 100 }, () => get('/slow')));
    for (const a of answers) assert.equal(a.text, '/slow #1');
    assert.equal(count('/slow'), 1);
  });
});

describe('cache: large objects', () => {
  it('streams a response over max_object_size without storing it', async () => {
    for (const path of ['/big', '/bigchunked']) {
      const a = await get(path);
      const b = await get(path);
      assert.equal(a.body.length, BIG.length);
      assert.ok(b.body.equals(BIG));
      assert.equal(count(path), 2, path);
    }
  });
});

describe('cache: invalidation and purge', () => {
  it('a successful POST invalidates the URL and its Location', async () => {
    await get('/items');
    await get('/items/new');
    await get('/items');
    assert.equal(count('/items'), 1);
    const post = await get('/items', {}, 'POST');
    assert.equal(post.status, 201);
    await get('/items');
    await get('/items/new');
    assert.equal(count('/items'), 3, 'GET, POST, GET again');
    assert.equal(count('/items/new'), 2);
  });

  it('purges by URL and by prefix through the admin endpoint, and reports stats', async () => {
    await get('/fresh/p/1');
    await get('/fresh/p/2');
    const one = await fetch(`http://127.0.0.1:${admin}/cache/purge?url=${encodeURIComponent('http://test.example/fresh/p/1')}`, { method: 'POST' });
    assert.equal(one.status, 200);
    assert.equal((await one.json() as { purged: number }).purged, 1);
    await get('/fresh/p/1');
    await get('/fresh/p/2');
    assert.equal(count('/fresh/p/1'), 2);
    assert.equal(count('/fresh/p/2'), 1);
    const prefix = await fetch(`http://127.0.0.1:${admin}/cache/purge?url=test.example/fresh/p/&prefix=1`, { method: 'POST' });
    assert.equal((await prefix.json() as { purged: number }).purged, 2);
    await get('/fresh/p/2');
    assert.equal(count('/fresh/p/2'), 2);
    const stats = await (await fetch(`http://127.0.0.1:${admin}/cache`)).json() as { zones: { zone: string; hits: number; entries: number }[] };
    const zone = stats.zones.find((z) => z.zone === 'test.example/')!;
    assert.ok(zone.hits > 100, JSON.stringify(stats));
    assert.ok(stats.zones.some((z) => z.zone === 'test.example/upd/'), 'one zone per cached route');
  });
});
