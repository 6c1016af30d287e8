// Failures edge answers for: upstreams that refuse, reset, hang or cannot be reached (502/504),
// requests over the limits (413, 431, 408), and clients that give up mid-request.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { freePort, startEdge, waitFor, type EdgeProcess, logMessages } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';

/** Sends raw bytes on a fresh connection and collects everything until the server closes. */
function rawExchange(port: number, data: string, opts: { keepOpenMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d));
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
    socket.write(data);
    if (opts.keepOpenMs === undefined) socket.end();
  });
}

/** A TCP port whose listen queue is full, so new connections hang in SYN-SENT (for connect timeouts). */
async function blackHole(): Promise<{ port: number; close: () => void }> {
  const py = spawn('python3', ['-c', [
    'import socket,sys,time',
    's=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(0)',
    'print(s.getsockname()[1], flush=True)',
    'time.sleep(60)',
  ].join('\n')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => py.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  // fill the accept queue: these handshakes complete but are never accepted
  const fillers = Array.from({ length: 3 }, () => connect(port, '127.0.0.1').on('error', () => {}));
  await new Promise((r) => setTimeout(r, 100));
  return { port, close: () => { fillers.forEach((s) => s.destroy()); py.kill(); } };
}

describe('upstream failures', () => {
  let edge: EdgeProcess;
  let hang: Upstream;
  let reset: Upstream;
  let hole: { port: number; close: () => void };
  before(async () => {
    hang = await startUpstream(() => {});
    reset = await startUpstream((req) => req.socket.destroy());
    hole = await blackHole();
    const port = await freePort();
    const refused = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /refused
        proxy: { to: 127.0.0.1:${refused} }
      - match: /nosocket
        proxy: { to: unix:/nonexistent/edge-test.sock }
      - match: /reset
        proxy: { to: ${reset.address} }
      - match: /hang
        proxy: { to: ${hang.address}, timeouts: { read: 500ms } }
      - match: /blackhole
        proxy: { to: 127.0.0.1:${hole.port}, timeouts: { connect: 300ms } }
`);
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    await edge.stop();
    await hang.close();
    await reset.close();
    hole.close();
  });

  const cases: [string, number, RegExp][] = [
    ['/refused', 502, /502 GET \/refused on test.example: upstream 127.0.0.1:\d+ refused the connection/],
    ['/nosocket', 502, /502 GET \/nosocket on test.example: upstream unix:\/nonexistent\/edge-test.sock socket file does not exist/],
    ['/reset', 502, /502 GET \/reset on test.example: upstream 127.0.0.1:\d+ (reset the connection|socket hang up)/],
    ['/hang', 504, /504 GET \/hang on test.example: upstream 127.0.0.1:\d+ read timed out/],
    ['/blackhole', 504, /504 GET \/blackhole on test.example: upstream 127.0.0.1:\d+ connect timed out/],
  ];
  for (const [path, status, logLine] of cases) {
    it(`${path}: ${status} with a short body and an error-log line naming the upstream`, async () => {
      const a = await fetchRaw(edge.port, path, { timeoutMs: 5000 });
      assert.equal(a.status, status);
      assert.equal(a.text, status === 502 ? '502 Bad Gateway\n' : '504 Gateway Timeout\n');
      await waitFor(() => logLine.test(logMessages(edge.stderr())), `error log ${logLine}`);
    });
  }
});

describe('upstream dies mid-response', () => {
  it('the client sees the response cut off (not a hang), and the error log says so', async () => {
    const up = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write('x'.repeat(1000), () => setTimeout(() => res.socket?.destroy(), 50));
    });
    const edge = await startEdge(['--domain', 'test.example', '--to', up.address, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1']);
    try {
      await assert.rejects(fetchRaw(edge.port, '/midway', { timeoutMs: 5000 }), /aborted|ECONNRESET|socket hang up/);
      await waitFor(() => /upstream 127.0.0.1:\d+ broke off its response to GET \/midway on test.example/.test(logMessages(edge.stderr())), 'error log line');
    } finally {
      await edge.stop();
      await up.close();
    }
  });
});

describe('limits', () => {
  let edge: EdgeProcess;
  let up: Upstream;
  before(async () => {
    up = await startUpstream((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('end', () => res.end(`got ${n}`));
    });
    const port = await freePort();
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
limits: { max_body_size: 1KiB, max_header_size: 4KiB, header_timeout: 1s, body_timeout: 1s }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /big/
        max_body_size: 1MiB
        proxy: { to: ${up.address} }
      - proxy: { to: ${up.address} }
`);
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    await edge.stop();
    await up.close();
  });

  it('413 for a Content-Length over max_body_size, before the upstream sees it', async () => {
    const before = up.requests.length;
    const a = await fetchRaw(edge.port, '/upload', { method: 'POST', body: Buffer.alloc(2048) });
    assert.equal(a.status, 413);
    assert.equal(up.requests.length, before);
    assert.equal((await fetchRaw(edge.port, '/upload', { method: 'POST', body: Buffer.alloc(1024) })).text, 'got 1024');
  });

  it('413 for a chunked body that grows past the limit; a route may raise it', async () => {
    const chunked = { 'transfer-encoding': 'chunked' };
    const over = `POST /upload HTTP/1.1\r\nHost: test.example\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n${'a'.repeat(2048)}\r\n0\r\n\r\n`;
    assert.match(await rawExchange(edge.port, over), /^HTTP\/1.1 413 /);
    const a = await fetchRaw(edge.port, '/big/upload', { method: 'POST', headers: chunked, body: Buffer.alloc(100_000) });
    assert.equal(a.text, 'got 100000');
  });

  it('413 instead of "100 Continue" when the announced body is too large', async () => {
    const reply = await rawExchange(edge.port, 'POST /upload HTTP/1.1\r\nHost: test.example\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n', { keepOpenMs: 0 });
    assert.match(reply, /^HTTP\/1.1 413 /);
    assert.doesNotMatch(reply, /100 Continue/);
  });

  it('501 for a transfer coding other than chunked, which the upstream could not decode', async () => {
    const before = up.requests.length;
    const gz = 'POST /upload HTTP/1.1\r\nHost: test.example\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n';
    assert.match(await rawExchange(edge.port, gz), /^HTTP\/1.1 501 /);
    assert.equal(up.requests.length, before);
  });

  it('431 for a request head over max_header_size', async () => {
    const a = await fetchRaw(edge.port, '/', { headers: { 'x-big': 'b'.repeat(5000) } });
    assert.equal(a.status, 431);
  });

  it('408 when the request head does not arrive within header_timeout', async () => {
    const reply = await rawExchange(edge.port, 'GET / HTTP/1.1\r\nHost: test.example\r\n', { keepOpenMs: 0 });
    assert.match(reply, /^HTTP\/1.1 408 /);
  });

  it('408 when a body stalls longer than body_timeout, and the upstream never sees the request', async () => {
    const before = up.requests.length;
    // request buffering: nothing goes upstream before the whole body is in
    const reply = await rawExchange(edge.port, 'POST /big/x HTTP/1.1\r\nHost: test.example\r\nContent-Length: 100000\r\n\r\nonly-part', { keepOpenMs: 0 });
    assert.match(reply, /^HTTP\/1.1 408 /);
    assert.equal(up.requests.length, before);
  });
});

describe('client gives up', () => {
  it('an aborted request frees the upstream request and its connection', async () => {
    const up = await startUpstream(() => {});
    const edge = await startEdge(['--domain', 'test.example', '--to', up.address, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1']);
    try {
      const socket = connect(edge.port, '127.0.0.1');
      socket.write('GET /slow HTTP/1.1\r\nHost: test.example\r\n\r\n');
      await waitFor(() => up.requests.length === 1, 'upstream got the request');
      socket.destroy();
      await waitFor(() => up.requests[0]!.destroyed, 'upstream request closed after the client left');
      const open = () => new Promise<number>((r) => up.server.getConnections((_e, n) => r(n)));
      let n = await open();
      for (let i = 0; i < 50 && n > 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        n = await open();
      }
      assert.equal(n, 0, 'no connection left open to the upstream');
      await waitFor(() => /"GET \/slow HTTP\/1.1" 499 0 /.test(edge.stdout()), 'access log line with 499');
    } finally {
      await edge.stop();
      await up.close();
    }
  });
});
