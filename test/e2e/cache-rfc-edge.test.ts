// The cache at the edges of the RFCs, against a real upstream that counts what reaches it: a
// list-valued or repeated Age (RFC 9111 5.1: the first value counts), CDN-Cache-Control and a
// custom targeted field (RFC 9213) winning over Cache-Control and kept from the client, and 103
// Early Hints (RFC 8297) relayed to HTTP/1.1 and HTTP/2 clients but never replayed from the cache.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect as h2connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { freePort, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { writeTree } from '../helpers/files.ts';
import { fetchRaw } from '../helpers/http.ts';

const LINK = '</style.css>; rel=preload; as=style';
const hits = new Map<string, number>();

function count(path: string): number {
  return hits.get(path) ?? 0;
}

function app(req: IncomingMessage, res: ServerResponse): void {
  const path = req.url!;
  hits.set(path, count(path) + 1);
  const body = `${path} #${count(path)}`;
  const send = (headers: Record<string, string> | string[]) => {
    const framing = ['content-type', 'text/plain', 'content-length', String(Buffer.byteLength(body))];
    res.writeHead(200, Array.isArray(headers) ? [...headers, ...framing] : [...Object.entries(headers).flat(), ...framing]);
    res.end(body);
  };
  const name = path.replace(/^\/(?:plain\/)?([\w-]+).*$/, '$1');
  switch (name) {
    case 'age-list': return send({ 'cache-control': 'max-age=60', age: '7200, 0' });
    case 'age-lines': return send(['Cache-Control', 'max-age=60', 'Age', '7200', 'Age', '0']);
    case 'cdn-wins': return send({ 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=60' });
    case 'cdn-nostore': return send({ 'cache-control': 'max-age=60', 'cdn-cache-control': 'no-store' });
    case 'cdn-kept': return send({ 'cache-control': 'max-age=5', 'cdn-cache-control': 'max-age=60' });
    case 'custom': return send({ 'cache-control': 'no-store', 'edge-cache-control': 'max-age=60', 'cdn-cache-control': 'no-store' });
    case 'hints':
      res.writeEarlyHints({ link: LINK });
      // the final answer a moment later, so a relayed 103 is plainly its own message
      setTimeout(() => send({ 'cache-control': req.url!.startsWith('/plain/') ? 'no-store' : 'max-age=60' }), 50);
      return;
    default: return send({});
  }
}

let up: Upstream;
let edge: EdgeProcess;
let https: number;
let ca: string;

before(async () => {
  up = await startUpstream(app);
  const http = await freePort();
  https = await freePort();
  const storage = join(writeTree({ 'x/': { dir: true } }), 'certs');
  // the defaults: cdn_cache_control is not named
  const { file } = writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
admin: off
storage: ${storage}
log: { access: off }
sites:
  - hosts: [localhost, test.example]
    tls: internal
    https_redirect: false
    routes:
      - match: /plain/
        proxy: { to: ${up.address} }
      - proxy: { to: ${up.address} }
        cache: {}
`);
  edge = await startEdge(['run', '-c', file], { port: http });
  await waitFor(() => edge.stderr().includes('certificate localhost: issued'), 'the local certificate', 15_000);
  ca = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
});

after(async () => {
  await edge?.stop();
  await up?.close();
});

const get = (path: string, port = edge.port) => fetchRaw(port, path);

/** One HTTP/1.1 GET; the 1xx informational heads that came before the answer, and the answer. */
function getWithInformation(path: string): Promise<{ informational: { status: number; headers: IncomingHttpHeaders }[]; status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const informational: { status: number; headers: IncomingHttpHeaders }[] = [];
    const req = request({ host: '127.0.0.1', port: edge.port, path, headers: { host: 'test.example' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ informational, status: res.statusCode!, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('information', (info) => informational.push({ status: info.statusCode, headers: info.headers }));
    req.setTimeout(10_000, () => req.destroy(new Error('no answer in 10 s')));
    req.on('error', reject);
    req.end();
  });
}

describe('Age from the upstream (RFC 9111 5.1)', () => {
  it('Age: 7200, 0 makes a stored response stale (first value counts)', async () => {
    const first = await get('/age-list');
    assert.match(String(first.headers['cache-status']), /fwd=uri-miss; fwd-status=200; stored/);
    const second = await get('/age-list');
    // two hours old on arrival, fresh for a minute: stale at once, so edge asks the upstream again
    assert.match(String(second.headers['cache-status']), /^edge; fwd=stale; fwd-status=200/);
    assert.equal(second.text, '/age-list #2');
    assert.equal(count('/age-list'), 2);
  });

  it('two Age lines: the first counts', async () => {
    const first = await get('/age-lines');
    assert.match(String(first.headers['cache-status']), /stored/);
    const second = await get('/age-lines');
    assert.match(String(second.headers['cache-status']), /^edge; fwd=stale; fwd-status=200/);
    assert.equal(count('/age-lines'), 2);
  });
});

describe('CDN-Cache-Control (RFC 9213)', () => {
  it('CDN-Cache-Control max-age wins over Cache-Control no-store', async () => {
    const first = await get('/cdn-wins');
    assert.match(String(first.headers['cache-status']), /fwd=uri-miss; fwd-status=200; stored/);
    const second = await get('/cdn-wins');
    assert.match(String(second.headers['cache-status']), /^edge; hit; ttl=\d+$/);
    assert.equal(second.text, '/cdn-wins #1');
    // Cache-Control is the client's and browsers' to follow: it still reaches them
    assert.equal(second.headers['cache-control'], 'no-store');
    assert.equal(count('/cdn-wins'), 1);
  });

  it('CDN-Cache-Control no-store wins over Cache-Control max-age', async () => {
    const first = await get('/cdn-nostore');
    assert.match(String(first.headers['cache-status']), /fwd=uri-miss; fwd-status=200; detail=no-store/);
    const second = await get('/cdn-nostore');
    assert.match(String(second.headers['cache-status']), /fwd=uri-miss; fwd-status=200; detail=no-store/);
    assert.equal(second.text, '/cdn-nostore #2');
    assert.equal(second.headers['cache-control'], 'max-age=60');
    assert.equal(count('/cdn-nostore'), 2);
  });

  it('CDN-Cache-Control is not forwarded when edge used it', async () => {
    const miss = await get('/cdn-kept');
    const hit = await get('/cdn-kept');
    assert.match(String(hit.headers['cache-status']), /^edge; hit/);
    for (const answer of [miss, hit]) {
      assert.equal(answer.headers['cdn-cache-control'], undefined);
      assert.equal(answer.headers['cache-control'], 'max-age=5');
    }
    // nor when edge decided not to store because of it
    assert.equal((await get('/cdn-nostore')).headers['cdn-cache-control'], undefined);
    // a route without a cache did not use it: it passes through
    assert.equal((await get('/plain/cdn-kept')).headers['cdn-cache-control'], 'max-age=60');
  });

  it('a custom cdn_cache_control name is honoured', async () => {
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
      - proxy: { to: ${up.address} }
        cache: { cdn_cache_control: Edge-Cache-Control }
`);
    const custom = await startEdge(['run', '-c', file], { port });
    try {
      const first = await get('/custom', port);
      assert.match(String(first.headers['cache-status']), /fwd=uri-miss; fwd-status=200; stored/);
      const second = await get('/custom', port);
      assert.match(String(second.headers['cache-status']), /^edge; hit/);
      assert.equal(count('/custom'), 1);
      for (const answer of [first, second]) {
        assert.equal(answer.headers['edge-cache-control'], undefined);
        // a targeted field not on edge's list changes nothing and passes through (RFC 9213 2.2)
        assert.equal(answer.headers['cdn-cache-control'], 'no-store');
        assert.equal(answer.headers['cache-control'], 'no-store');
      }
    } finally {
      await custom.stop();
    }
  });
});

describe('103 Early Hints (RFC 8297)', () => {
  it('103 Early Hints reach an HTTP/1.1 client', async () => {
    const answer = await getWithInformation('/plain/hints');
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.informational.map((i) => [i.status, i.headers.link]), [[103, LINK]]);
  });

  it('103 Early Hints reach an HTTP/2 client', async () => {
    const session = h2connect(`https://localhost:${https}`, {
      createConnection: () => tlsConnect({ host: '127.0.0.1', port: https, servername: 'localhost', ca, ALPNProtocols: ['h2'] }),
    });
    session.on('error', () => {});
    try {
      const { informational, status } = await new Promise<{ informational: [unknown, unknown][]; status: unknown }>((resolve, reject) => {
        const informational: [unknown, unknown][] = [];
        const stream = session.request({ ':path': '/plain/hints' });
        stream.on('headers', (h) => informational.push([h[':status'], h.link]));
        let status: unknown;
        stream.on('response', (h) => (status = h[':status']));
        stream.resume();
        stream.on('end', () => resolve({ informational, status }));
        stream.on('error', reject);
        stream.setTimeout(10_000, () => stream.close());
      });
      assert.equal(status, 200);
      assert.deepEqual(informational, [[103, LINK]]);
    } finally {
      session.close();
    }
  });

  it('an HTTP/1.0 client gets no 103 (it has no 1xx)', async () => {
    const before = count('/plain/hints?v10');
    const bytes = await new Promise<string>((resolve, reject) => {
      const socket = netConnect(edge.port, '127.0.0.1', () => socket.write('GET /plain/hints?v10 HTTP/1.0\r\nHost: test.example\r\n\r\n'));
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (d: string) => (text += d));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.setTimeout(10_000, () => socket.destroy(new Error('no answer in 10 s')));
    });
    assert.equal(count('/plain/hints?v10'), before + 1);
    assert.match(bytes, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(bytes, /103|style\.css/);
  });

  it('a cache hit sends no 103', async () => {
    const miss = await getWithInformation('/hints');
    assert.match(String(miss.headers['cache-status']), /fwd=uri-miss; fwd-status=200; stored/);
    // the client whose miss reached the app gets the app's hints
    assert.deepEqual(miss.informational.map((i) => i.status), [103]);
    const hit = await getWithInformation('/hints');
    assert.match(String(hit.headers['cache-status']), /^edge; hit/);
    assert.deepEqual(hit.informational, []);
    assert.equal(count('/hints'), 1);
  });
});
