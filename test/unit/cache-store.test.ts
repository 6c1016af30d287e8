// The cache store and registry without sockets: the memory store bounded by bytes, purge by URL
// and prefix, Vary records, and what a registry shows (admin routes, metric samples).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeEntry } from '../../src/cache/entry.ts';
import { MemoryStore } from '../../src/cache/store.ts';
import { CacheRegistry } from '../../src/cache/registry.ts';
import type { PoolsContext } from '../../src/proxy/pools.ts';
import type { CacheConfig } from '../../src/config/cache-schema.ts';
import { compileKey, unknownKeyFields } from '../../src/cache/key.ts';
import type { EdgeRequest } from '../../src/server/response.ts';

const now = Date.now() / 1000;
const entry = (key: string, url = key, bytes = 100, headers: Record<string, string> = { 'cache-control': 'max-age=60' }) =>
  makeEntry(key, url, 200, headers, Buffer.alloc(bytes), now, now, false);

describe('MemoryStore', () => {
  it('gets what was set, counts bytes, and evicts least recently used past max_size', () => {
    const store = new MemoryStore(10_000, 5_000);
    for (let i = 0; i < 5; i++) store.set(entry(`k${i}`, `http://a/${i}`, 3000));
    assert.ok(store.bytes <= 10_000);
    assert.equal(store.count, 2);
    assert.equal(store.get('k0'), undefined);
    assert.ok(store.get('k4'));
  });

  it('refuses an object larger than max_object_size', () => {
    const store = new MemoryStore(1_000_000, 1000);
    store.set(entry('big', 'http://a/big', 200_000));
    assert.equal(store.get('big'), undefined);
    assert.equal(store.count, 0);
  });

  it('purges by exact URL and by prefix, whatever the keys', () => {
    const store = new MemoryStore(1_000_000, 100_000);
    store.set(entry('k1', 'http://a/blog/1'));
    store.set(entry('k1-fr', 'http://a/blog/1'));
    store.set(entry('k2', 'http://a/blog/2'));
    store.set(entry('k3', 'http://a/shop/1'));
    assert.equal(store.purge('http://a/blog/1', false), 2);
    assert.equal(store.purge('http://a/blog/', false), 0);
    assert.equal(store.purge('http://a/blog/', true), 1);
    assert.ok(store.get('k3'));
    assert.equal(store.count, 1);
  });

  it('an evicted entry leaves no purge index behind', () => {
    const store = new MemoryStore(5_000, 5_000);
    store.set(entry('a', 'http://a/a', 3000));
    store.set(entry('b', 'http://a/b', 3000));
    assert.equal(store.purge('http://a/a', false), 0);
    assert.equal(store.purge('http://a/', true), 1);
  });

  it('keeps Vary names per primary key', () => {
    const store = new MemoryStore(1_000_000, 100_000);
    store.setVary('p', ['accept-language']);
    assert.deepEqual(store.varyOf('p'), ['accept-language']);
    assert.equal(store.varyOf('q'), undefined);
  });
});

describe('stored entries', () => {
  it('precompute the head with the stored length, without Age or hop fields', () => {
    const e = makeEntry('k', 'u', 200, { 'content-type': 'text/plain', age: '5', 'content-length': '999', 'cache-control': 'max-age=60' }, Buffer.from('hello'), now - 1, now, false);
    assert.deepEqual(e.head, ['content-type', 'text/plain', 'cache-control', 'max-age=60', 'content-length', '5']);
    assert.equal(e.lifetime, 60);
    assert.ok(e.initialAge >= 6 && e.initialAge < 7);
  });
  it('drop fields named by no-cache="..." and private="..."', () => {
    const e = makeEntry('k', 'u', 200, { 'cache-control': 'max-age=60, no-cache="x-a", private="x-b"', 'x-a': '1', 'x-b': '2', 'x-c': '3' }, Buffer.alloc(0), now, now, false);
    assert.deepEqual(Object.keys(e.headers).sort(), ['cache-control', 'x-c']);
  });
});

describe('CacheRegistry', () => {
  const ctx = (): PoolsContext => ({ adminRoutes: [], metrics: [], closers: [], logger: { info() {} } } as unknown as PoolsContext);
  const config = (zone: string) => ({ zone, max_size: 1_000_000, max_object_size: 100_000 }) as CacheConfig;

  it('zones shared by name; admin routes and metrics registered once', async () => {
    const c = ctx();
    const r = new CacheRegistry(c);
    assert.equal(r.zone(config('z')), r.zone(config('z')));
    r.zone(config('other'));
    assert.deepEqual(c.adminRoutes.map((a) => `${a.method} ${a.path}`), ['GET /cache', 'POST /cache/purge']);
    assert.equal(c.metrics.length, 1);
    const z = r.zone(config('z'));
    z.store.set(entry('http://a.example/x', 'http://a.example/x'));
    z.store.set(entry('https://a.example/x', 'https://a.example/x'));
    z.stats.hits = 3;
    const samples = c.metrics[0]!();
    const hits = samples.find((s) => s.name === 'edge_cache_hits_total' && s.labels.zone === 'z');
    assert.equal(hits?.value, 3);
    assert.equal(hits?.type, 'counter');
    assert.ok(samples.find((s) => s.name === 'edge_cache_bytes' && s.labels.zone === 'z')!.value > 0);
    assert.ok(samples.some((s) => s.name === 'edge_cache_misses_total'));
    // a URL without a scheme purges both; the host is compared lower-cased
    const purge = c.adminRoutes[1]!;
    const answer = await purge.handle(new URLSearchParams({ url: 'A.example/x' }));
    assert.deepEqual(answer, { status: 200, body: { url: 'A.example/x', prefix: false, purged: 2 } });
    assert.equal((await purge.handle(new URLSearchParams())).status, 400);
  });
});

describe('cache keys', () => {
  const req = (host: string, url: string, extra: Record<string, string> = {}, encrypted = false) =>
    ({ headers: { host, ...extra }, url, socket: { encrypted } }) as unknown as EdgeRequest;
  it('default: scheme, host without port lower-cased, path and query', () => {
    const key = compileKey('{scheme}://{host}{uri}');
    assert.equal(key(req('A.Example:8080', '/x?y=1')), 'http://a.example/x?y=1');
    assert.equal(key(req('a.example', '/x', {}, true)), 'https://a.example/x');
    assert.equal(key(req('[::1]', '/')), 'http://[::1]/');
    assert.equal(key(req('[::1]:80', '/')), 'http://[::1]/');
  });
  it('HTTP/2: :scheme and :authority', () => {
    const key = compileKey('{scheme}://{host}{uri}');
    assert.equal(key({ headers: { ':scheme': 'https', ':authority': 'b.example:443' }, url: '/p', socket: {} } as unknown as EdgeRequest), 'https://b.example/p');
  });
  it('fields, headers and cookies', () => {
    const key = compileKey('{host}{path}|{query}|{header.X-Lang}|{cookie.theme}');
    assert.equal(key(req('a', '/p?q=1', { 'x-lang': 'fr', cookie: 'a=1; theme=dark' })), 'a/p|q=1|fr|dark');
    assert.equal(key(req('a', '/p')), 'a/p|||');
  });
  it('unknown fields are reported for the config check', () => {
    assert.deepEqual(unknownKeyFields('{host}{url}{header.}{cookie.x}'), ['url', 'header.']);
  });
});
