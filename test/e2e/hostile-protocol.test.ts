// Hostile and broken peers at the protocol level, each answered as nginx answers it: an upstream
// that sends more body than it framed, requests with two Hosts, TRACE, CONNECT, HTTP/1.0 with a
// chunked body, and what Node's parser refuses (bad request lines, oversized or stalled heads,
// broken chunks), each with the access-log line of its real status. Raw sockets throughout, so
// the bytes on the wire are exactly the ones written here.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { freePort, logMessages, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { echo, startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { writeTree } from '../helpers/files.ts';
import { scrape, value } from '../helpers/metrics.ts';

/** Writes `data` on a fresh connection (TLS with `ca` for "localhost") and collects all it gets until the server closes, or 5 s. */
function exchange(port: number, data: string, opts: { ca?: string; half?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket: Socket = opts.ca === undefined
      ? connect(port, '127.0.0.1', () => send())
      : tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: opts.ca, ALPNProtocols: ['http/1.1'] }, () => send());
    const send = () => {
      socket.write(data);
      if (opts.half) socket.end();
    };
    let got = '';
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (d) => (got += d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

/** The access log lines written since `from` (a length of edge's stdout). */
function accessSince(edge: EdgeProcess, from: number): string {
  return edge.stdout().slice(from);
}

describe('an upstream that breaks its own framing', () => {
  it('an upstream body longer than its Content-Length gives the client exactly Content-Length bytes', async () => {
    // node:http would never send a wrong length: this upstream writes its answer by hand
    let connections = 0;
    let requests = 0;
    const up: Server = createServer((socket) => {
      connections++;
      socket.on('error', () => {});
      socket.on('data', () => {
        requests++;
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ');
      });
    });
    await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve));
    const upstream = `127.0.0.1:${(up.address() as { port: number }).port}`;
    const edge = await startEdge(['--domain', 'test.example', '--to', upstream, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--admin', 'off']);
    try {
      for (const path of ['/first', '/second']) {
        const reply = await exchange(edge.port, `GET ${path} HTTP/1.1\r\nHost: test.example\r\nConnection: close\r\n\r\n`);
        assert.match(reply, /^HTTP\/1.1 200 OK\r\n/);
        assert.match(reply, /\r\ncontent-length: 10\r\n/i);
        assert.equal(reply.slice(reply.indexOf('\r\n\r\n') + 4), '0123456789');
      }
      // the connection that carried the extra bytes is not used again
      assert.equal(requests, 2);
      assert.equal(connections, 2);
      await waitFor(() => /"GET \/second HTTP\/1.1" 200 10 /.test(edge.stdout()), 'the access log lines');
      assert.match(edge.stdout(), /"GET \/first HTTP\/1.1" 200 10 /);
      const errors = logMessages(edge.stderr());
      // the bytes arrive once the response is over, so the line names the upstream but no request
      assert.match(errors, new RegExp(`upstream ${upstream} sent bytes after the end of a response \\(more body than its Content-Length\\?\\): they were dropped and the connection closed`));
      assert.doesNotMatch(errors, /^502 /m);
    } finally {
      await edge.stop();
      await new Promise((resolve) => up.close(resolve));
    }
  });
});

describe('protocol answers over HTTP/1.1', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let admin: number;
  before(async () => {
    up = await startUpstream(echo);
    const port = await freePort();
    admin = await freePort();
    const root = writeTree({ 'page.html': '<p>from disk</p>' });
    const { file } = writeConfig(`
http_port: ${port}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
limits: { max_header_size: 4KiB, header_timeout: 1s }
sites:
  - hosts: [test.example]
    tls: off
    routes:
      - match: /files/
        static: { root: ${root} }
      - proxy: { to: ${up.address} }
`);
    edge = await startEdge(['run', '-c', file], { port });
  });
  after(async () => {
    await edge.stop();
    await up.close();
  });

  it('a client that closes its side after a whole request still gets what edge answers itself', async () => {
    // a FIN while the app has not answered is the client leaving (test/e2e/errors.test.ts)
    const reply = await exchange(edge.port, 'GET /files/page.html HTTP/1.1\r\nHost: test.example\r\n\r\n', { half: true });
    assert.match(reply, /^HTTP\/1\.1 200 /);
    assert.match(reply, /\r\n\r\n<p>from disk<\/p>$/);
  });

  it('two Host headers get 400 and reach no upstream', async () => {
    const seen = up.requests.length;
    const from = edge.stdout().length;
    const reply = await exchange(edge.port, 'GET /two-hosts HTTP/1.1\r\nHost: test.example\r\nHost: other.example\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 400 Bad Request\r\n/);
    await waitFor(() => accessSince(edge, from).includes('/two-hosts'), 'the access log line');
    assert.match(accessSince(edge, from), /"GET \/two-hosts HTTP\/1.1" 400 /);
    assert.equal(up.requests.length, seen);
  });

  it('TRACE gets 405 and is not proxied', async () => {
    const seen = up.requests.length;
    const from = edge.stdout().length;
    const reply = await exchange(edge.port, 'TRACE /trace HTTP/1.1\r\nHost: test.example\r\nCookie: secret=1\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 405 Method Not Allowed\r\n/);
    assert.match(reply, /\r\nallow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n/);
    assert.doesNotMatch(reply, /secret/);
    await waitFor(() => accessSince(edge, from).includes('/trace'), 'the access log line');
    assert.match(accessSince(edge, from), /"TRACE \/trace HTTP\/1.1" 405 /);
    assert.equal(up.requests.length, seen);
  });

  it('CONNECT gets 405 not a closed connection', async () => {
    const seen = up.requests.length;
    const from = edge.stdout().length;
    const reply = await exchange(edge.port, 'CONNECT elsewhere.example:443 HTTP/1.1\r\nHost: elsewhere.example:443\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 405 Method Not Allowed\r\n/);
    assert.match(reply, /\r\nallow: GET, /);
    await waitFor(() => accessSince(edge, from).includes('CONNECT'), 'the access log line');
    assert.match(accessSince(edge, from), /"CONNECT elsewhere.example:443 HTTP\/1.1" 405 /);
    assert.equal(up.requests.length, seen);
  });

  it('HTTP/1.0 with chunked gets 400', async () => {
    const seen = up.requests.length;
    const from = edge.stdout().length;
    const reply = await exchange(edge.port, 'POST /old HTTP/1.0\r\nHost: test.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 400 Bad Request\r\n/);
    await waitFor(() => accessSince(edge, from).includes('/old'), 'the access log line');
    assert.match(accessSince(edge, from), /"POST \/old HTTP\/1.0" 400 /);
    assert.equal(up.requests.length, seen);
  });

  it('a malformed request line gets 400 and an access-log line', async () => {
    const from = edge.stdout().length;
    const families = await scrape(admin);
    const reply = await exchange(edge.port, 'GET /a b c\x01 HTTP/1.1\r\nHost: test.example\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 400 Bad Request\r\n/);
    await waitFor(() => accessSince(edge, from).includes('"-" 400'), 'the access log line');
    assert.match(accessSince(edge, from), /^127\.0\.0\.1 - - \[[^\]]+\] "-" 400 16 "-" "-" "-"\n$/);
    const now = await scrape(admin);
    const labels = { site: 'none', route: 'none', status: '4xx' };
    assert.equal(value(now, 'edge_requests_total', labels) - value(families, 'edge_requests_total', labels), 1);
  });

  it('an oversized head gets 431 and an access-log line', async () => {
    const from = edge.stdout().length;
    const reply = await exchange(edge.port, `GET /big HTTP/1.1\r\nHost: test.example\r\nX-Big: ${'b'.repeat(5000)}\r\n\r\n`);
    assert.match(reply, /^HTTP\/1.1 431 Request Header Fields Too Large\r\n/);
    await waitFor(() => accessSince(edge, from).includes('"-" 431'), 'the access log line');
    assert.match(accessSince(edge, from), /"-" 431 \d+ "-" "-" "-"\n$/);
  });

  it('a head that stalls past header_timeout gets 408 and an access-log line', async () => {
    const from = edge.stdout().length;
    const reply = await exchange(edge.port, 'GET /slow HTTP/1.1\r\nHost: test.example\r\n');
    assert.match(reply, /^HTTP\/1.1 408 Request Timeout\r\n/);
    await waitFor(() => accessSince(edge, from).includes('"-" 408'), 'the access log line');
  });

  it('a connection that sends nothing is closed at header_timeout with no answer and no log line', async () => {
    const from = edge.stdout().length;
    assert.equal(await exchange(edge.port, ''), '');
    assert.equal(accessSince(edge, from), '');
  });

  it('a 501 for an unknown transfer-coding is logged 501 not 499', async () => {
    const seen = up.requests.length;
    const from = edge.stdout().length;
    // the body that follows is no chunked body: Node's parser fails on it right after the head
    const reply = await exchange(edge.port, 'POST /gzip HTTP/1.1\r\nHost: test.example\r\nTransfer-Encoding: gzip\r\n\r\nnot-a-chunk');
    assert.match(reply, /^HTTP\/1.1 501 Not Implemented\r\n[^]*\r\n\r\n501 Not Implemented\n$/);
    await waitFor(() => accessSince(edge, from).includes('/gzip'), 'the access log line');
    assert.match(accessSince(edge, from), /"POST \/gzip HTTP\/1.1" 501 /);
    assert.equal(up.requests.length, seen);
  });

  it('a broken chunk in a request body gets 400, logged 400, and reaches no upstream', async () => {
    const seen = up.requests.length;
    const from = edge.stdout().length;
    const reply = await exchange(edge.port, 'POST /chunks HTTP/1.1\r\nHost: test.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZ\r\n');
    assert.match(reply, /^HTTP\/1.1 400 Bad Request\r\n/);
    await waitFor(() => accessSince(edge, from).includes('/chunks'), 'the access log line');
    assert.match(accessSince(edge, from), /"POST \/chunks HTTP\/1.1" 400 /);
    assert.equal(up.requests.length, seen);
  });

  it('edge still serves after all of the above', async () => {
    const reply = await exchange(edge.port, 'GET /after HTTP/1.1\r\nHost: test.example\r\nConnection: close\r\n\r\n');
    assert.match(reply, /^HTTP\/1.1 200 OK\r\n/);
    assert.match(reply, /"url":"\/after"/);
  });
});

/** HPACK literal field, never indexed, no Huffman (RFC 7541 6.2.3). */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x10, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/**
 * One HTTP/2 request written frame by frame (node:http2 refuses to send two Host fields): how
 * stream 1 ended, a RST_STREAM code or the status of a HEADERS frame (static-table ones only).
 */
function h2Raw(port: number, ca: string, fields: [string, string][]): Promise<{ rst?: number; status?: number }> {
  const STATIC_STATUS: Record<number, number> = { 0x88: 200, 0x89: 204, 0x8a: 206, 0x8b: 304, 0x8c: 400, 0x8d: 404, 0x8e: 500 };
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca, ALPNProtocols: ['h2'] }, () => {
      const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
      // HEADERS with END_STREAM and END_HEADERS
      socket.write(Buffer.concat([preface, frame(4, 0, 0, Buffer.alloc(0)), frame(1, 5, 1, Buffer.concat(fields.map(([n, v]) => literal(n, v))))]));
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer on stream 1'));
    }, 5000);
    const done = (result: { rst?: number; status?: number }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 9) {
        const length = buf.readUIntBE(0, 3);
        if (buf.length < 9 + length) break;
        const type = buf[3]!;
        const payload = buf.subarray(9, 9 + length);
        if (buf.readUInt32BE(5) === 1) {
          if (type === 3) done({ rst: payload.readUInt32BE(0) });
          else if (type === 1) done({ status: STATIC_STATUS[payload[0]!] ?? -1 });
        }
        buf = buf.subarray(9 + length);
      }
    });
    socket.on('error', reject);
  });
}

function h2Request(session: ClientHttp2Session, headers: Record<string, string>, end = true): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: end });
    stream.on('response', (h) => {
      resolve({ status: Number(h[':status']), headers: h });
      stream.close();
    });
    stream.on('error', reject);
    stream.resume();
  });
}

describe('protocol answers over HTTPS', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let https: number;
  let ca: string;
  let session: ClientHttp2Session;
  before(async () => {
    up = await startUpstream(echo);
    const [http, admin] = [await freePort(), await freePort()];
    https = await freePort();
    const storage = join(writeTree({ 'x/': { dir: true } }), 'certs');
    const { file } = writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
storage: ${storage}
sites:
  - hosts: [localhost]
    tls: internal
    routes:
      - proxy: { to: ${up.address} }
`);
    edge = await startEdge(['run', '-c', file], { port: http });
    await waitFor(() => edge.stderr().includes('certificate localhost: issued'), 'the local certificate', 15_000);
    ca = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
    session = h2connect(`https://localhost:${https}`, {
      createConnection: () => tlsConnect({ host: '127.0.0.1', port: https, servername: 'localhost', ca, ALPNProtocols: ['h2'] }),
    });
    session.on('error', () => {});
  });
  after(async () => {
    session.close();
    await edge.stop();
    await up.close();
  });

  it('an HTTP/2 :authority and a Host that disagree get 400 and reach no upstream', async () => {
    const seen = up.requests.length;
    const from = edge.stdout().length;
    const r = await h2Request(session, { ':path': '/disagree', ':authority': 'localhost', host: 'other.example' });
    assert.equal(r.status, 400);
    await waitFor(() => accessSince(edge, from).includes('/disagree'), 'the access log line');
    assert.match(accessSince(edge, from), /"GET \/disagree HTTP\/2.0" 400 /);
    assert.equal(up.requests.length, seen);
    // the same Host in both is fine
    assert.equal((await h2Request(session, { ':path': '/agree', ':authority': 'localhost', host: 'LOCALHOST' })).status, 200);
    // a refusal sends no Connection field on HTTP/2 (Node would drop it with a warning)
    assert.doesNotMatch(edge.stderr(), /Warning/);
  });

  it('two Host fields over HTTP/2 are refused by the HTTP/2 layer and reach no upstream', async () => {
    const seen = up.requests.length;
    const answer = await h2Raw(https, ca, [[':method', 'GET'], [':scheme', 'https'], [':path', '/two-hosts'], ['host', 'localhost'], ['host', 'other.example']]);
    // nghttp2 takes it for a malformed request (RFC 9113 8.1.1) and resets the stream: PROTOCOL_ERROR
    assert.ok(answer.rst === 1 || answer.status === 400, `reset or 400, got ${JSON.stringify(answer)}`);
    assert.equal(up.requests.length, seen);
  });

  it('CONNECT over HTTP/2 gets 405 and an access-log line', async () => {
    const seen = up.requests.length;
    const from = edge.stdout().length;
    const r = await h2Request(session, { ':method': 'CONNECT', ':authority': 'elsewhere.example:443' }, false);
    assert.equal(r.status, 405);
    assert.equal(r.headers.allow, 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    await waitFor(() => accessSince(edge, from).includes('"CONNECT'), 'the access log line');
    assert.match(accessSince(edge, from), /"CONNECT - HTTP\/2.0" 405 /);
    assert.equal(up.requests.length, seen);
  });

  it('CONNECT over HTTP/1.1 with TLS gets 405 not a closed connection', async () => {
    const from = edge.stdout().length;
    const reply = await exchange(https, 'CONNECT elsewhere.example:443 HTTP/1.1\r\nHost: elsewhere.example:443\r\n\r\n', { ca });
    assert.match(reply, /^HTTP\/1.1 405 Method Not Allowed\r\n/);
    await waitFor(() => accessSince(edge, from).includes('CONNECT elsewhere'), 'the access log line');
  });

  it('a malformed request line over HTTP/1.1 with TLS gets 400 and an access-log line', async () => {
    const from = edge.stdout().length;
    const reply = await exchange(https, 'GET /a b c\x01 HTTP/1.1\r\nHost: localhost\r\n\r\n', { ca });
    assert.match(reply, /^HTTP\/1.1 400 Bad Request\r\n/);
    await waitFor(() => accessSince(edge, from).includes('"-" 400'), 'the access log line');
  });
});
