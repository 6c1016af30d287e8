// Precompressed sidecars (FILE.br, FILE.zst, FILE.gz) chosen by Accept-Encoding, each with its own
// ETag, Vary on every answer about a file that has them, and never compressed a second time.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { brotliCompressSync, constants, gzipSync, zstdCompressSync } from 'node:zlib';
import { join } from 'node:path';
import { freePort, startEdge, type EdgeProcess } from '../helpers/edge.ts';
import { writeConfig } from '../helpers/config.ts';
import { writeTree } from '../helpers/files.ts';
import { fetchRaw, type Answer } from '../helpers/http.ts';

const JS = Buffer.from(Array.from({ length: 200 }, (_, i) => `export const value${i} = ${i} * 2; // a line of JavaScript\n`).join(''));
const BR = brotliCompressSync(JS, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
const ZST = zstdCompressSync(JS, { params: { [constants.ZSTD_c_compressionLevel]: 19 } });
const GZ = gzipSync(JS, { level: 9 });
const CSS = Buffer.from('body { margin: 0 }\n'.repeat(100));
const CSS_GZ = gzipSync(CSS);

let edge: EdgeProcess;

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return fetchRaw(edge.port, path, { headers, method });
}

before(async () => {
  const base = writeTree({
    'www/app.js': JS,
    'www/app.js.br': BR,
    'www/app.js.zst': ZST,
    'www/app.js.gz': GZ,
    'www/only-gz.css': CSS,
    'www/only-gz.css.gz': CSS_GZ,
    'www/plain.css': CSS,
    'outside.gz': CSS_GZ,
    'www/escape.css': CSS,
    'www/escape.css.gz': { link: '../outside.gz' },
  });
  const www = join(base, 'www');
  const port = await freePort();
  const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: off
log: { access: off }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /off/
        static: { root: ${www}, precompressed: false }
      - match: /compressed/
        static: { root: ${www} }
        compress: true
      - static: { root: ${www} }
`);
  edge = await startEdge(['run', '-c', file], { port });
});

after(async () => {
  await edge.stop();
});

describe('precompressed sidecars', () => {
  const cases: [string, string | undefined, Buffer, string][] = [
    ['br', 'br', BR, 'br asked for'],
    ['zstd', 'zstd', ZST, 'zstd asked for'],
    ['gzip', 'gzip', GZ, 'gzip asked for'],
    ['gzip, deflate, br, zstd', 'br', BR, 'all equally: br, the smallest of brotli, zstd, gzip'],
    ['gzip, zstd', 'zstd', ZST, 'zstd before gzip'],
    ['br;q=0.5, gzip', 'gzip', GZ, 'the higher q'],
    ['*', 'br', BR, '"*"'],
    ['br;q=0, *', 'zstd', ZST, '"*" without br'],
    ['identity', undefined, JS, 'identity only'],
    ['gzip;q=0, br;q=0, zstd;q=0', undefined, JS, 'every coding refused'],
    ['deflate', undefined, JS, 'a coding there is no sidecar for'],
  ];
  for (const [accept, coding, body, why] of cases) {
    it(`Accept-Encoding: ${accept} → ${coding ?? 'the file itself'} (${why})`, async () => {
      const r = await get('/app.js', { 'accept-encoding': accept });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], coding);
      assert.equal(r.headers['content-type'], 'text/javascript; charset=utf-8', 'the type of the original');
      assert.equal(r.headers['content-length'], String(body.length));
      assert.equal(r.headers.vary, 'Accept-Encoding');
      assert.ok(r.body.equals(body), 'the sidecar\'s bytes as they are on disk');
    });
  }

  it('no Accept-Encoding: the file itself, with Vary', async () => {
    const r = await get('/app.js');
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(r.headers.vary, 'Accept-Encoding');
    assert.ok(r.body.equals(JS));
  });

  it('each encoding has its own strong ETag', async () => {
    const tags = new Set<string>();
    for (const accept of ['br', 'zstd', 'gzip', 'identity']) tags.add((await get('/app.js', { 'accept-encoding': accept })).headers.etag!);
    assert.equal(tags.size, 4);
    for (const tag of tags) assert.match(tag, /^"[^"]+"$/);
  });

  it('If-None-Match with the br ETag: 304 for a br client, 200 (another representation) for a gzip one', async () => {
    const etag = (await get('/app.js', { 'accept-encoding': 'br' })).headers.etag!;
    const again = await get('/app.js', { 'accept-encoding': 'br', 'if-none-match': etag });
    assert.equal(again.status, 304);
    assert.equal(again.headers.etag, etag);
    assert.equal(again.headers.vary, 'Accept-Encoding');
    const other = await get('/app.js', { 'accept-encoding': 'gzip', 'if-none-match': etag });
    assert.equal(other.status, 200);
    assert.equal(other.headers['content-encoding'], 'gzip');
  });

  it('a range of a sidecar is a range of its compressed bytes', async () => {
    const r = await get('/app.js', { 'accept-encoding': 'gzip', range: 'bytes=0-9' });
    assert.equal(r.status, 206);
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['content-range'], `bytes 0-9/${GZ.length}`);
    assert.ok(r.body.equals(GZ.subarray(0, 10)));
  });

  it('HEAD: the sidecar\'s headers, no body', async () => {
    const r = await get('/app.js', { 'accept-encoding': 'br' }, 'HEAD');
    assert.equal(r.headers['content-encoding'], 'br');
    assert.equal(r.headers['content-length'], String(BR.length));
    assert.equal(r.body.length, 0);
  });

  it('only a .gz: a br client gets the file itself, a gzip client the .gz', async () => {
    const br = await get('/only-gz.css', { 'accept-encoding': 'br' });
    assert.equal(br.headers['content-encoding'], undefined);
    assert.equal(br.headers.vary, 'Accept-Encoding');
    assert.ok(br.body.equals(CSS));
    const gz = await get('/only-gz.css', { 'accept-encoding': 'br, gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.ok(gz.body.equals(CSS_GZ));
  });

  it('no sidecar: no Vary', async () => {
    const r = await get('/plain.css', { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(r.headers.vary, undefined);
  });

  it('a sidecar that is a symlink out of the root is not used', async () => {
    const r = await get('/escape.css', { 'accept-encoding': 'gzip' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'], undefined);
    assert.ok(r.body.equals(CSS));
  });

  it('a sidecar asked for by name is just a file', async () => {
    const r = await get('/app.js.gz');
    assert.equal(r.headers['content-type'], 'application/gzip');
    assert.equal(r.headers['content-encoding'], undefined);
    assert.ok(r.body.equals(GZ));
  });

  it('precompressed: false serves the file itself, without Vary', async () => {
    const r = await get('/off/app.js', { 'accept-encoding': 'br' });
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(r.headers.vary, undefined);
    assert.ok(r.body.equals(JS));
  });

  it('with compress: on the route, a sidecar goes out as it is, not compressed again', async () => {
    const r = await get('/compressed/app.js', { 'accept-encoding': 'br' });
    assert.equal(r.headers['content-encoding'], 'br');
    assert.equal(r.headers['content-length'], String(BR.length));
    assert.equal(r.headers.vary, 'Accept-Encoding');
    assert.ok(r.body.equals(BR));
  });

  it('with compress: on the route, a client taking only what has no sidecar gets it compressed on the fly', async () => {
    const r = await get('/compressed/only-gz.css', { 'accept-encoding': 'zstd' });
    assert.equal(r.headers['content-encoding'], 'zstd');
    assert.equal(r.headers['content-length'], undefined);
    assert.match(r.headers.etag!, /^W\//);
  });
});
