// A cache's max_size bounds what its entries really cost in memory: the body, the key and URL
// strings, the stored and precomputed heads, the entry's own objects and the store's indexes. The
// store is filled with entries as the proxy makes them and V8's heap (plus Buffers' memory) is read
// before and after; the size the store accounts must match it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { MemoryStore } from '../../src/cache/store.ts';
import { headersFromRaw, makeEntry } from '../../src/cache/entry.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function used(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** Real bytes per entry over accounted bytes per entry, for `n` entries shaped by `shape`. */
function ratio(n: number, shape: (i: number) => { raw: string[]; body: number }): number {
  const store = new MemoryStore(1 << 30, 1 << 20);
  const before = used();
  const now = Date.now() / 1000;
  for (let i = 0; i < n; i++) {
    const { raw, body } = shape(i);
    const url = `https://shop.example.com/catalogue/item/${i}?colour=blue&page=${i % 7}`;
    const entry = makeEntry(`${url} ${'gzip'}`, url, 200, headersFromRaw(raw.map((s) => `${s}`)), Buffer.allocUnsafeSlow(body).fill(i & 255), now, now, 'cdn-cache-control');
    // the head a hit builds (kept for the second it was built in)
    entry.hitHead = [...entry.head, 'age', String(i % 100), 'cache-status', `edge; hit; ttl=${3600 - (i % 100)}`];
    store.set(entry);
  }
  const real = used() - before;
  const r = real / store.bytes;
  // keeps the store alive until it was measured
  assert.equal(store.count, n);
  return r;
}

describe('cache memory accounting', () => {
  it('1 KiB responses with a usual head: the accounted size is what the entries cost', () => {
    const r = ratio(20_000, (i) => ({
      raw: ['Content-Type', 'text/html; charset=utf-8', 'Cache-Control', 'public, max-age=3600', 'Date', new Date(Date.now() - i).toUTCString(),
        'ETag', `"${(i * 2654435761).toString(16)}"`, 'Last-Modified', 'Mon, 07 Dec 2026 10:00:00 GMT', 'Server', 'gunicorn', 'Vary', 'Accept-Encoding'],
      body: 1024,
    }));
    assert.ok(r > 0.8 && r < 1.15, `real/accounted = ${r.toFixed(2)}`);
  });

  it('small bodies with many headers: the heads and objects are counted, not just the bodies', () => {
    const r = ratio(20_000, (i) => ({
      raw: Array.from({ length: 20 }, (_, h) => [`X-Header-${h}`, `value-${h}-${i}`]).flat().concat(['Cache-Control', 'max-age=60']),
      body: 64,
    }));
    assert.ok(r > 0.8 && r < 1.15, `real/accounted = ${r.toFixed(2)}`);
  });
});
