// Request and response buffering end to end: a slow or aborted upload never reaches the app, a
// buffered body is resent on retry whatever its size, the app is free as soon as it has written
// its response however slowly the client reads, streaming responses still stream, and a temp
// folder that cannot be used gives 507 and a log line.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { freePort, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { fetchRaw } from '../helpers/http.ts';
import { writeConfig } from '../helpers/config.ts';
import { scrape, value } from '../helpers/metrics.ts';

// past what the loopback sockets' kernel buffers hold, so an app can only finish if edge reads it all
const BIG = 32 * 1024 * 1024;

/** What the upstream saw of each request, and whether its answer was fully written. */
interface Seen { url: string; headers: Record<string, unknown>; bytes: number; hash: string; finished: boolean }

function recorder(seen: Seen[]) {
  return (req: import('node:http').IncomingMessage, res: ServerResponse) => {
    const entry: Seen = { url: req.url!, headers: req.headers, bytes: 0, hash: '', finished: false };
    seen.push(entry);
    const h = createHash('sha256');
    req.on('data', (c: Buffer) => {
      entry.bytes += c.length;
      h.update(c);
    });
    req.on('end', () => {
      entry.hash = h.digest('hex');
      res.once('finish', () => (entry.finished = true));
      if (req.url!.includes('/big')) {
        res.writeHead(200, { 'content-length': BIG, 'content-type': req.url === '/big-sse' ? 'text/event-stream' : 'application/octet-stream', ...(req.url === '/big-noaccel' ? { 'x-accel-buffering': 'no' } : {}) });
        res.end(Buffer.alloc(BIG, 7));
      } else {
        res.end(`got ${entry.bytes}`);
      }
    });
  };
}

function rawRequest(port: number, head: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
    s.write(head);
  });
}

function readAll(s: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('close', () => resolve(Buffer.concat(parts)));
    s.resume();
  });
}

describe('buffering', () => {
  let up: Upstream;
  let other: Upstream;
  const seen: Seen[] = [];
  let resets = 0;
  let edge: EdgeProcess;
  let adminPort: number;
  let temp: string;

  before(async () => {
    up = await startUpstream(recorder(seen));
    // the retry pool's first upstream drops the connection of every PUT once its body arrived
    other = await startUpstream((req, res) => {
      req.resume();
      req.on('end', () => {
        resets++;
        res.socket!.destroy();
      });
    });
    temp = join(mkdtempSync(join(tmpdir(), 'edge-buf-')), 'spool');
    adminPort = await freePort();
    const port = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${adminPort}
buffering: { temp_dir: ${temp} }
limits: { body_timeout: 3s, max_body_size: 20MiB }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /stream/
        proxy: { to: ${up.address}, buffering: { request: false, response: false } }
      - match: /retry/
        proxy: { to: [${other.address}, ${up.address}], balance: first, retries: 1 }
      - match: /
        proxy: { to: ${up.address} }
`);
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    await edge?.stop();
    await up?.close();
    await other?.close();
  });

  it('a slow upload reaches the app only once whole, with a Content-Length', async () => {
    const before = seen.length;
    const s = await rawRequest(edge.port, 'POST /upload HTTP/1.1\r\nHost: test.example\r\nContent-Length: 200000\r\nConnection: close\r\n\r\n');
    const answer = readAll(s);
    s.write(Buffer.alloc(150_000, 1));
    // the 150 KB went past the memory buffer into a temp file, and the app has seen nothing
    await waitFor(() => existsSync(temp), 'the temp folder to be made', 5000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(seen.length, before, 'the app saw the request before its body was complete');
    s.write(Buffer.alloc(50_000, 1));
    const text = (await answer).toString('latin1');
    assert.match(text, /^HTTP\/1.1 200 /);
    assert.match(text, /got 200000$/);
    assert.equal(seen.length, before + 1);
    assert.equal(seen.at(-1)!.headers['content-length'], '200000');
    // files are unlinked as soon as they are open: the folder stays empty
    assert.deepEqual(readdirSync(temp), []);
  });

  it('a chunked upload reaches the app with a Content-Length and no Transfer-Encoding', async () => {
    const before = seen.length;
    const s = await rawRequest(edge.port, 'POST /chunked HTTP/1.1\r\nHost: test.example\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
    const answer = readAll(s);
    const chunk = Buffer.alloc(100_000, 2);
    s.write(`${chunk.length.toString(16)}\r\n`);
    s.write(chunk);
    s.write('\r\n0\r\n\r\n');
    assert.match((await answer).toString('latin1'), /got 100000$/);
    assert.equal(seen.length, before + 1);
    assert.equal(seen.at(-1)!.headers['content-length'], '100000');
    assert.equal(seen.at(-1)!.headers['transfer-encoding'], undefined);
  });

  it('an aborted upload never reaches the app', async () => {
    const before = seen.length;
    const s = await rawRequest(edge.port, 'POST /aborted HTTP/1.1\r\nHost: test.example\r\nContent-Length: 200000\r\n\r\n');
    s.write(Buffer.alloc(120_000, 3));
    await new Promise((r) => setTimeout(r, 300));
    s.destroy();
    await waitFor(() => /"POST \/aborted HTTP\/1.1" 499 /.test(edge.stdout()), 'the 499 in the access log', 5000);
    assert.equal(seen.length, before, 'the app got a request whose client had gone');
  });

  it('with request buffering off, the app gets the body as it arrives', async () => {
    const before = seen.length;
    const s = await rawRequest(edge.port, 'POST /stream/up HTTP/1.1\r\nHost: test.example\r\nContent-Length: 200000\r\nConnection: close\r\n\r\n');
    const answer = readAll(s);
    s.write(Buffer.alloc(150_000, 1));
    await waitFor(() => seen.length === before + 1, 'the app to see the streamed request', 5000);
    s.write(Buffer.alloc(50_000, 1));
    assert.match((await answer).toString('latin1'), /got 200000$/);
  });

  it('a buffered body larger than the memory buffer (64 KiB) is resent on retry', async () => {
    const body = Buffer.alloc(300_000, 9);
    const r = await fetchRaw(edge.port, '/retry/put', { method: 'PUT', body, headers: { host: 'test.example' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.text, 'got 300000');
    // a reset is first taken for a stale keep-alive connection and sent again there once
    assert.ok(resets >= 1, 'the first upstream did not get the request');
    assert.equal(seen.at(-1)!.hash, createHash('sha256').update(body).digest('hex'));
  });

  it('the app is free once it has written a large response, while the client reads nothing', async () => {
    const before = seen.length;
    const s = await rawRequest(edge.port, 'GET /big HTTP/1.1\r\nHost: test.example\r\nConnection: close\r\n\r\n');
    s.pause();
    await waitFor(() => seen.length === before + 1 && seen.at(-1)!.finished, 'the app to finish writing its 32 MB response', 15_000);
    const page = await scrape(adminPort);
    assert.ok(value(page, 'edge_buffer_spooled_total', { direction: 'response' }) >= 1, 'no response was spooled');
    assert.ok(value(page, 'edge_buffer_temp_bytes') > 0, 'no temp space in use while the client is behind');
    const got = await readAll(s);
    const body = got.subarray(got.indexOf('\r\n\r\n') + 4);
    assert.equal(body.length, BIG);
    assert.ok(body.every((b) => b === 7));
    await waitFor(() => readdirSync(temp).length === 0, 'no temp file left', 5000);
  });

  for (const [path, why] of [['/big-sse', 'text/event-stream'], ['/big-noaccel', 'X-Accel-Buffering: no'], ['/stream/big', 'buffering: { response: false }']]) {
    it(`a ${why} response is not buffered: the app waits on a client that reads nothing`, async () => {
      const before = seen.length;
      const s = await rawRequest(edge.port, `GET ${path} HTTP/1.1\r\nHost: test.example\r\nConnection: close\r\n\r\n`);
      s.pause();
      await waitFor(() => seen.length === before + 1, 'the request to reach the app', 5000);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(seen.at(-1)!.finished, false, 'the whole 32 MB response left the app although the client read none of it');
      const got = await readAll(s);
      assert.ok(got.length > BIG);
    });
  }
});

describe('a temp folder that cannot be used', () => {
  it('gives 507 and says why, and the app never sees the request', async () => {
    const seen: Seen[] = [];
    const up = await startUpstream(recorder(seen));
    const blocker = join(mkdtempSync(join(tmpdir(), 'edge-buf-')), 'a-file');
    writeFileSync(blocker, 'not a folder');
    const port = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: off
buffering: { temp_dir: ${join(blocker, 'spool')} }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /
        proxy: { to: ${up.address} }
`);
    const edge = await startEdge(['run', '-c', file], { port });
    try {
      const small = await fetchRaw(edge.port, '/small', { method: 'POST', body: Buffer.alloc(1000), headers: { host: 'test.example' } });
      assert.equal(small.status, 200, 'a body within the memory buffer needs no temp file');
      const r = await fetchRaw(edge.port, '/large', { method: 'POST', body: Buffer.alloc(200_000), headers: { host: 'test.example' } });
      assert.equal(r.status, 507);
      await waitFor(() => /507 POST \/large on test.example: the request body could not be buffered: temp folder .*a-file\/spool \(buffering.temp_dir\): ENOTDIR/.test(edge.stderr()), 'the log line', 5000);
      assert.deepEqual(seen.map((s) => s.url), ['/small']);
    } finally {
      await edge.stop();
      await up.close();
    }
  });
});
