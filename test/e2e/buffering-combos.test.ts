// Buffering together with the rest of edge, in one edge with workers: 2 and a local-CA site:
// uploads over HTTP/2 streams are spooled and reach the app whole with a Content-Length, only
// once complete; an HTTP/2 client that reads nothing (flow control holds it at its window) does
// not keep the app from finishing; and on a route with the cache and compression, a response
// buffered for a slow HTTP/2 client is stored, served again from the cache, and compressed right;
// parallel HTTP/1.1 uploads through two workers arrive whole. Every temp file is gone at the end.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { freePort, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';
import { writeConfig } from '../helpers/config.ts';
import { writeTree } from '../helpers/files.ts';

const MiB = 1024 * 1024;
// past what the loopback sockets and an HTTP/2 window hold, so the app only finishes if edge reads it all
const BIG = Buffer.alloc(32 * MiB);
for (let at = 0; at < BIG.length; at += 65536) BIG.fill((at >> 16) % 256, at, at + 65536);
const PAGE = Buffer.from('<p>buffered, cached and compressed</p>\n'.repeat(60_000));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Seen { url: string; bytes: number; hash: string; length: unknown; te: unknown; finished: boolean }

describe('buffering with HTTP/2, workers: 2, the cache and compression', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let session: ClientHttp2Session;
  let https: number;
  const seen: Seen[] = [];
  const temp = join(mkdtempSync(join(tmpdir(), 'edge-buf-combo-')), 'spool');

  before(async () => {
    up = await startUpstream((req, res) => {
      const entry: Seen = { url: req.url!, bytes: 0, hash: '', length: req.headers['content-length'], te: req.headers['transfer-encoding'], finished: false };
      seen.push(entry);
      const h = createHash('sha256');
      req.on('data', (c: Buffer) => {
        entry.bytes += c.length;
        h.update(c);
      });
      req.on('end', () => {
        entry.hash = h.digest('hex');
        res.once('finish', () => (entry.finished = true));
        if (req.url === '/big') {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG.length });
          res.end(BIG);
        } else if (req.url!.startsWith('/cached/')) {
          res.writeHead(200, { 'content-type': 'text/html', 'cache-control': 'max-age=600', 'content-length': PAGE.length });
          res.end(PAGE);
        } else {
          res.end(`got ${entry.bytes}`);
        }
      });
    });
    const http = await freePort();
    https = await freePort();
    const storage = join(writeTree({ 'x/': { dir: true } }), 'certs');
    const { file } = writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
admin: off
workers: 2
storage: ${storage}
log: { access: off }
buffering: { temp_dir: ${temp} }
sites:
  - hosts: [localhost]
    tls: internal
    routes:
      - match: /cached/
        proxy: { to: ${up.address} }
        cache: {}
        compress: [gzip]
      - match: /
        proxy: { to: ${up.address} }
  - hosts: [plain.example]
    tls: off
    routes:
      - proxy: { to: ${up.address} }
`);
    edge = await startEdge(['run', '-c', file], { port: http, startMs: 30_000 });
    await waitFor(() => edge.stderr().includes('certificate localhost: issued'), 'the local certificate', 15_000);
    const ca = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
    session = h2connect(`https://localhost:${https}`, {
      createConnection: () => tlsConnect({ host: '127.0.0.1', port: https, servername: 'localhost', ca, ALPNProtocols: ['h2'] }),
    });
    session.on('error', () => {});
  });
  after(async () => {
    session?.close();
    await edge?.stop();
    await up?.close();
  });

  /** An HTTP/2 GET that reads nothing of the body until `hold` resolves. */
  function h2(path: string, headers: Record<string, string> = {}, hold: Promise<unknown> = Promise.resolve()): Promise<{ headers: Record<string, unknown>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const stream = session.request({ ':path': path, ...headers });
      const chunks: Buffer[] = [];
      let head: Record<string, unknown> = {};
      stream.on('response', (h) => (head = h));
      stream.pause();
      void hold.then(() => {
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.resume();
      });
      stream.on('end', () => resolve({ headers: head, body: Buffer.concat(chunks) }));
      stream.on('error', reject);
    });
  }

  it('an HTTP/2 upload is spooled and reaches the app whole, once complete, with a Content-Length', async () => {
    const body = Buffer.alloc(600_000, 3);
    const stream = session.request({ ':path': '/up', ':method': 'POST' });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const done = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write(body.subarray(0, 400_000));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(seen.filter((s) => s.url === '/up').length, 0, 'the app saw the upload before its end');
    stream.end(body.subarray(400_000));
    await done;
    assert.equal(Buffer.concat(chunks).toString(), 'got 600000');
    const at = seen.find((s) => s.url === '/up')!;
    assert.equal(at.hash, sha(body));
    assert.equal(at.length, '600000');
    assert.equal(at.te, undefined);
  });

  it('an HTTP/2 client that reads nothing does not keep the app from finishing its 32 MiB', async () => {
    const finished = waitFor(() => seen.some((s) => s.url === '/big' && s.finished), 'the app to finish writing while the client reads nothing', 20_000);
    const got = await h2('/big', {}, finished);
    assert.equal(got.headers[':status'], 200);
    assert.equal(got.body.length, BIG.length);
    assert.equal(sha(got.body), sha(BIG));
  });

  it('with workers: 2, six parallel HTTP/1.1 uploads past the memory buffer all reach the app whole, with a Content-Length', async () => {
    const bodies = Array.from({ length: 6 }, (_, i) => Buffer.alloc(300_000 + i, i + 1));
    const answers = await Promise.all(bodies.map((b, i) => fetchRaw(edge.port, `/w${i}`, { method: 'PUT', body: b, headers: { host: 'plain.example' } })));
    for (const [i, a] of answers.entries()) {
      assert.equal(a.status, 200);
      assert.equal(a.text, `got ${bodies[i]!.length}`);
      const at = seen.find((s) => s.url === `/w${i}`)!;
      assert.equal(at.hash, sha(bodies[i]!));
      assert.equal(at.length, String(bodies[i]!.length));
    }
  });

  it('a buffered response for a slow client is cached, then served from the cache, compressed right, over HTTP/2', async () => {
    const first = await h2('/cached/page', { 'accept-encoding': 'gzip' }, new Promise((r) => setTimeout(r, 1000)));
    assert.equal(first.headers[':status'], 200);
    assert.equal(first.headers['content-encoding'], 'gzip');
    assert.ok(gunzipSync(first.body).equals(PAGE));
    const again = await h2('/cached/page');
    assert.match(String(again.headers['cache-status']), /^edge; hit/);
    assert.equal(again.headers['content-encoding'], undefined);
    assert.ok(again.body.equals(PAGE));
    assert.equal(seen.filter((s) => s.url === '/cached/page').length, 1);
  });

  it('no temp file is left', async () => {
    await waitFor(() => readdirSync(temp).length === 0, 'an empty temp folder', 5000);
  });
});
