// Compression end to end: proxied and static responses negotiated by Accept-Encoding (q=0, "*",
// identity), what is left alone (small, already encoded, ranged, no-transform, images, HEAD),
// headers (Vary, weak ETag, no Content-Length), bodies decoded byte-exact (also 64 MiB), the
// access log counting bytes sent, server-sent events arriving one by one through each encoder,
// and HTTP/2.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import type { Transform } from 'node:stream';
import {
  brotliDecompressSync, createBrotliDecompress, createGunzip, createZstdDecompress, gunzipSync, gzipSync, zstdDecompressSync,
} from 'node:zlib';
import { freePort, startEdge, waitFor, type EdgeProcess, logMessages } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { writeTree } from '../helpers/files.ts';
import { fetchRaw, type Answer } from '../helpers/http.ts';

const HTML = Buffer.from(`<!doctype html>\n${'<p>Some text that compresses well, repeated.</p>\n'.repeat(100)}`);
const PNG = Buffer.alloc(5000, 7);
const SMALL = Buffer.from('<p>tiny</p>\n');
const MiB = 1024 * 1024;
const LARGE = Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => (i * 13) % 256));
const LINE = 'a line of a large compressible response, with a counter: ';

const DECODE: Record<string, (b: Buffer) => Buffer> = { gzip: gunzipSync, br: brotliDecompressSync, zstd: zstdDecompressSync };
const DECODER: Record<string, () => Transform> = { gzip: createGunzip, br: createBrotliDecompress, zstd: createZstdDecompress };

let release: () => void = () => {};

function app(req: IncomingMessage, res: ServerResponse): void {
  const name = req.url!.split('?')[0]!.split('/').pop();
  const html = { 'content-type': 'text/html; charset=utf-8' };
  switch (name) {
    case 'text':
      res.writeHead(200, { ...html, 'content-length': HTML.length });
      res.end(req.method === 'HEAD' ? undefined : HTML);
      return;
    case 'chunked':
      res.writeHead(200, html);
      res.write(HTML.subarray(0, 1000));
      res.end(HTML.subarray(1000));
      return;
    case 'small':
      res.writeHead(200, { ...html, 'content-length': SMALL.length });
      res.end(SMALL);
      return;
    case 'png':
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length });
      res.end(PNG);
      return;
    case 'gzipped': {
      const gz = gzipSync(HTML);
      res.writeHead(200, { ...html, 'content-encoding': 'gzip', 'content-length': gz.length, vary: 'Accept-Encoding' });
      res.end(gz);
      return;
    }
    case 'no-transform':
      res.writeHead(200, { ...html, 'cache-control': 'public, no-transform', 'content-length': HTML.length });
      res.end(HTML);
      return;
    case 'partial':
      res.writeHead(206, { ...html, 'content-range': `bytes 0-1999/${HTML.length}`, 'content-length': 2000 });
      res.end(HTML.subarray(0, 2000));
      return;
    case 'etag':
      res.writeHead(200, { ...html, etag: '"v1"', vary: 'Origin', 'content-length': HTML.length });
      res.end(HTML);
      return;
    case 'nothing':
      res.writeHead(204);
      res.end();
      return;
    case 'big': {
      // 64 MiB of text in 64 KiB writes, honouring backpressure
      res.writeHead(200, { 'content-type': 'text/plain' });
      let i = 0;
      const more = (): void => {
        while (i < 1024) {
          const chunk = `${LINE}${String(i++).padStart(8, '0')}\n`.repeat(1000).slice(0, 64 * 1024);
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
      return;
    }
    case 'events':
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: first\n\n');
      // the second event waits until the client has decoded the first
      new Promise<void>((r) => (release = r)).then(() => res.end('data: second\n\n'), () => {});
      return;
    default:
      res.writeHead(404);
      res.end();
  }
}

function bigBody(): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < 1024; i++) parts.push(`${LINE}${String(i).padStart(8, '0')}\n`.repeat(1000).slice(0, 64 * 1024));
  return Buffer.from(parts.join(''));
}

let up: Upstream;
let edge: EdgeProcess;
let accessLog: string;
let www: string;

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return fetchRaw(edge.port, path, { headers, method });
}

function decoded(r: Answer): Buffer {
  const coding = r.headers['content-encoding'];
  return coding === undefined ? r.body : DECODE[coding]!(r.body);
}

before(async () => {
  up = await startUpstream(app);
  const base = writeTree({ 'www/page.html': HTML, 'www/tiny.html': SMALL, 'www/large.bin': LARGE });
  www = join(base, 'www');
  accessLog = join(base, 'access.log');
  const port = await freePort();
  const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: off
log: { access: ${accessLog} }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /gzip-only/
        proxy: { to: ${up.address} }
        compress: [gzip]
      - match: /files/
        static: { root: ${www} }
        compress: true
      - match: /plain/
        proxy: { to: ${up.address} }
      - proxy: { to: ${up.address} }
        compress: true
`);
  edge = await startEdge(['run', '-c', file], { port });
});

after(async () => {
  release();
  await edge.stop();
  await up.close();
});

describe('compression of proxied responses', () => {
  for (const coding of ['zstd', 'br', 'gzip']) {
    it(`${coding}: Content-Encoding, Vary, no Content-Length, the body decodes to the original`, async () => {
      const r = await get('/text', { 'accept-encoding': coding });
      assert.equal(r.status, 200);
      assert.equal(r.headers['content-encoding'], coding);
      assert.equal(r.headers.vary, 'Accept-Encoding');
      assert.equal(r.headers['content-length'], undefined);
      assert.equal(r.headers['transfer-encoding'], 'chunked');
      assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
      assert.ok(r.body.length < HTML.length / 5, `compressed to ${r.body.length} of ${HTML.length} bytes`);
      assert.ok(DECODE[coding]!(r.body).equals(HTML));
    });
  }

  const negotiation: [string | undefined, string | undefined, string][] = [
    [undefined, undefined, 'no Accept-Encoding'],
    ['', undefined, 'an empty Accept-Encoding'],
    ['identity', undefined, 'identity'],
    ['gzip;q=0', undefined, 'q=0 refuses gzip'],
    ['gzip;q=0, br', 'br', 'q=0 refuses only gzip'],
    ['*', 'zstd', '"*": the route\'s first'],
    ['*;q=0', undefined, '"*;q=0"'],
    ['br, *;q=0', 'br', 'listed despite "*;q=0"'],
    ['zstd;q=0, *', 'br', '"*" except zstd'],
    ['gzip;q=0.9, br;q=0.5', 'gzip', 'the higher q'],
    ['gzip;q=0.4, identity;q=0.6', undefined, 'identity weighed higher'],
    ['deflate, compress', undefined, 'codings edge does not make'],
    ['GZip', 'gzip', 'case-insensitive'],
    ['gzip, deflate, br, zstd', 'zstd', 'Chrome\'s header: the route\'s order'],
  ];
  for (const [accept, coding, why] of negotiation) {
    it(`Accept-Encoding ${JSON.stringify(accept)} → ${coding ?? 'identity'} (${why})`, async () => {
      const r = await get('/text', accept === undefined ? {} : { 'accept-encoding': accept });
      assert.equal(r.headers['content-encoding'], coding);
      assert.equal(r.headers.vary, 'Accept-Encoding', 'Vary whether compressed or not');
      if (coding === undefined) assert.equal(r.headers['content-length'], String(HTML.length));
      assert.ok(decoded(r).equals(HTML));
    });
  }

  it('a route listing only gzip: br and zstd clients get identity, gzip clients gzip', async () => {
    const none = await get('/gzip-only/text', { 'accept-encoding': 'br, zstd' });
    assert.equal(none.headers['content-encoding'], undefined);
    assert.equal(none.headers.vary, 'Accept-Encoding');
    const gz = await get('/gzip-only/text', { 'accept-encoding': 'zstd, br, gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
  });

  it('a route without compress: is left alone', async () => {
    const r = await get('/plain/text', { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(r.headers.vary, undefined);
  });

  it('a chunked response (no Content-Length) is compressed', async () => {
    const r = await get('/chunked', { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.ok(gunzipSync(r.body).equals(HTML));
  });

  it('never twice: an upstream response already gzip passes as it is', async () => {
    const r = await get('/gzipped', { 'accept-encoding': 'zstd, br, gzip' });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.equal(r.headers['content-length'], String(r.body.length));
    assert.ok(gunzipSync(r.body).equals(HTML), 'one gunzip gives the original');
  });

  it('under 1 KiB: left alone, no Vary', async () => {
    const r = await get('/small', { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(r.headers['content-length'], String(SMALL.length));
    assert.equal(r.headers.vary, undefined);
  });

  it('an image: left alone', async () => {
    const r = await get('/png', { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], undefined);
    assert.ok(r.body.equals(PNG));
  });

  it('Cache-Control: no-transform: left alone', async () => {
    const r = await get('/no-transform', { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], undefined);
    assert.ok(r.body.equals(HTML));
  });

  it('a 206 from the upstream: left alone', async () => {
    const r = await get('/partial', { 'accept-encoding': 'gzip' });
    assert.equal(r.status, 206);
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(r.headers['content-range'], `bytes 0-1999/${HTML.length}`);
    assert.equal(r.body.length, 2000);
  });

  it('204: no body, nothing added', async () => {
    const r = await get('/nothing', { 'accept-encoding': 'gzip' });
    assert.equal(r.status, 204);
    assert.equal(r.headers['content-encoding'], undefined);
  });

  it('HEAD: no Content-Encoding, the upstream\'s length, and Vary', async () => {
    const r = await get('/text', { 'accept-encoding': 'gzip' }, 'HEAD');
    assert.equal(r.headers['content-encoding'], undefined);
    assert.equal(r.headers['content-length'], String(HTML.length));
    assert.equal(r.headers.vary, 'Accept-Encoding');
  });

  it('the ETag becomes weak and Vary keeps what the upstream listed', async () => {
    const r = await get('/etag', { 'accept-encoding': 'br' });
    assert.equal(r.headers['content-encoding'], 'br');
    assert.equal(r.headers.etag, 'W/"v1"');
    assert.equal(r.headers.vary, 'Origin, Accept-Encoding');
    const plain = await get('/etag', { 'accept-encoding': 'identity' });
    assert.equal(plain.headers.etag, '"v1"');
  });

  it('64 MiB streamed through zstd decodes byte-exact', async () => {
    const r = await get('/big', { 'accept-encoding': 'zstd' });
    assert.equal(r.headers['content-encoding'], 'zstd');
    const body = zstdDecompressSync(r.body);
    assert.equal(body.length, 64 * MiB);
    assert.equal(createHash('sha256').update(body).digest('hex'), createHash('sha256').update(bigBody()).digest('hex'));
  });

  it('the access log counts the bytes sent, compressed', async () => {
    const r = await get('/text?logged', { 'accept-encoding': 'gzip' });
    await waitFor(() => readFileSync(accessLog, 'utf8').includes('/text?logged'), 'the access log line');
    const line = readFileSync(accessLog, 'utf8').split('\n').find((l) => l.includes('/text?logged'))!;
    assert.match(line, new RegExp(`" 200 ${r.body.length} "`));
  });
});

describe('compression of static files', () => {
  it('compressed on the fly with a weak ETag, no Accept-Ranges', async () => {
    const r = await get('/files/page.html', { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.match(r.headers.etag!, /^W\/"[^"]+"$/);
    assert.equal(r.headers['accept-ranges'], undefined);
    assert.ok(gunzipSync(r.body).equals(HTML));
  });

  it('revalidating with the weak ETag: 304, with the weak ETag again', async () => {
    const etag = (await get('/files/page.html', { 'accept-encoding': 'gzip' })).headers.etag!;
    const r = await get('/files/page.html', { 'accept-encoding': 'gzip', 'if-none-match': etag });
    assert.equal(r.status, 304);
    assert.equal(r.headers.etag, etag);
  });

  it('a range is served from the file, uncompressed', async () => {
    const r = await get('/files/page.html', { 'accept-encoding': 'gzip', range: 'bytes=0-99' });
    assert.equal(r.status, 206);
    assert.equal(r.headers['content-encoding'], undefined);
    assert.ok(r.body.equals(HTML.subarray(0, 100)));
  });

  it('If-Range with the weak ETag of a compressed answer: the whole file, compressed', async () => {
    const etag = (await get('/files/page.html', { 'accept-encoding': 'gzip' })).headers.etag!;
    const r = await get('/files/page.html', { 'accept-encoding': 'gzip', range: 'bytes=0-99', 'if-range': etag });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'], 'gzip');
  });

  it('a small file is left alone', async () => {
    const r = await get('/files/tiny.html', { 'accept-encoding': 'gzip' });
    assert.equal(r.headers['content-encoding'], undefined);
    assert.ok(r.body.equals(SMALL));
  });

  it('error pages are small: left alone', async () => {
    const r = await get('/files/nope.html', { 'accept-encoding': 'gzip' });
    assert.equal(r.status, 404);
    assert.equal(r.headers['content-encoding'], undefined);
  });
});

describe('server-sent events through compression', () => {
  for (const coding of ['gzip', 'br', 'zstd']) {
    // held back by the encoder, the first event would never arrive and the second never be sent
    it(`${coding}: each event decodes as soon as it is written, not when the stream ends`, { timeout: 15_000 }, async () => {
      const events = await new Promise<string[]>((resolve, reject) => {
        const seen: string[] = [];
        const req = request({
          host: '127.0.0.1', port: edge.port, path: '/events', agent: false,
          headers: { host: 'test.example', accept: 'text/event-stream', 'accept-encoding': coding },
        }, (res) => {
          assert.equal(res.headers['content-encoding'], coding);
          assert.equal(res.headers['content-type'], 'text/event-stream');
          const decoder = DECODER[coding]!();
          decoder.setEncoding('utf8');
          decoder.on('data', (text: string) => {
            seen.push(text);
            // the upstream sends the second event only once this one arrived decoded
            if (text.includes('first')) release();
          });
          decoder.on('end', () => resolve(seen));
          decoder.on('error', reject);
          res.pipe(decoder);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(events.join(''), 'data: first\n\ndata: second\n\n');
      assert.ok(events.length >= 2, 'the events arrived separately');
    });
  }
});

function h2get(session: ClientHttp2Session, path: string, accept: string): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, 'accept-encoding': accept });
    const chunks: Buffer[] = [];
    let headers: Record<string, unknown> = {};
    stream.on('response', (h) => (headers = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ headers, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
  });
}

describe('HTTP/2', () => {
  it('compressed proxied and static responses, and a large file streamed, on HTTP/2 streams', async () => {
    const [http, https] = [await freePort(), await freePort()];
    const storage = join(writeTree({ 'x/': { dir: true } }), 'certs');
    const { file } = writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
admin: off
storage: ${storage}
log: { access: off }
sites:
  - hosts: [localhost]
    tls: internal
    routes:
      - match: /files/
        static: { root: ${www} }
        compress: true
      - proxy: { to: ${up.address} }
        compress: true
`);
    const h2edge = await startEdge(['run', '-c', file], { port: http });
    try {
      await waitFor(() => logMessages(h2edge.stderr()).includes('certificate localhost: issued'), 'the local certificate', 15_000);
      const ca = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
      const session = h2connect(`https://localhost:${https}`, {
        createConnection: () => tlsConnect({ host: '127.0.0.1', port: https, servername: 'localhost', ca, ALPNProtocols: ['h2'] }),
      });
      try {
        for (const [path, coding] of [['/text', 'br'], ['/files/page.html', 'zstd']] as const) {
          const { headers, body } = await h2get(session, path, coding);
          assert.equal(headers[':status'], 200);
          assert.equal(headers['content-encoding'], coding);
          assert.equal(headers.vary, 'Accept-Encoding');
          assert.ok(DECODE[coding]!(body).equals(HTML), path);
        }
        const large = await h2get(session, '/files/large.bin', 'gzip');
        assert.equal(large.headers['content-encoding'], undefined, 'octet-stream is not compressed');
        assert.equal(large.headers['content-length'], String(LARGE.length));
        assert.ok(large.body.equals(LARGE));
      } finally {
        session.close();
      }
    } finally {
      await h2edge.stop();
    }
  });
});
