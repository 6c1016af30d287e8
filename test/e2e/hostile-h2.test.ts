// Hostile and careless clients over HTTP/2 (and the same over HTTP/1.1 where the answer must
// match): uploads cancelled midway must reach the app as aborted, never as complete requests;
// reset streams are logged 499; many cookie fields are judged by their bytes, and a head past
// max_header_size gets the 431 HTTP/1.1 gives (on the TLS listener too, which used to keep
// Node's default limit).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as h2connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { freePort, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { writeTree } from '../helpers/files.ts';
import { fetchRaw } from '../helpers/http.ts';

/** What the app saw of one request: its body's bytes, and whether the body ended or was cut. */
interface Seen {
  req: IncomingMessage;
  bytes: number;
  outcome: 'end' | 'aborted' | undefined;
}

const seen = new Map<string, Seen>();

/**
 * Records each request's fate and answers once its body ends; /slow (no body) instead answers a
 * first chunk and never ends, and its outcome is whether edge closed that response.
 */
function app(req: IncomingMessage, res: ServerResponse): void {
  const record: Seen = { req, bytes: 0, outcome: undefined };
  seen.set(req.url!, record);
  req.on('error', () => {});
  if (req.url === '/slow') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk\n');
    res.on('close', () => (record.outcome = 'aborted'));
    return;
  }
  req.on('data', (c: Buffer) => (record.bytes += c.length));
  req.on('end', () => {
    record.outcome ??= 'end';
    res.end('ok');
  });
  req.on('close', () => (record.outcome ??= 'aborted'));
}

interface AccessLine {
  uri: string;
  status: number;
  proto: string;
}

function accessLines(edge: EdgeProcess): AccessLine[] {
  return edge.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as AccessLine);
}

function accessFor(edge: EdgeProcess, uri: string): AccessLine | undefined {
  return accessLines(edge).find((l) => l.uri === uri);
}

/** An upload's first bytes, then whatever `cut` does to the stream once the app has some of them. */
async function cancelUpload(session: ClientHttp2Session, path: string, headers: Record<string, string>, cut: (stream: ClientHttp2Stream) => void, signal?: AbortSignal): Promise<void> {
  const stream = session.request({ ':method': 'POST', ':path': path, ...headers }, signal ? { signal } : {});
  stream.on('error', () => {});
  stream.write(Buffer.alloc(256 * 1024, 'a'));
  await waitFor(() => (seen.get(path)?.bytes ?? 0) > 0, `the app receiving the first bytes of ${path}`, 10_000);
  cut(stream);
}

function h2request(session: ClientHttp2Session, headers: Record<string, string | string[]>): Promise<{ status: number; text: string; reset?: number }> {
  return new Promise((resolve) => {
    const stream = session.request(headers);
    let status = 0;
    let text = '';
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (d) => (text += d));
    stream.on('error', () => {});
    stream.on('close', () => resolve({ status, text, ...(stream.rstCode ? { reset: stream.rstCode } : {}) }));
    stream.end();
  });
}

describe('hostile HTTP/2 clients', () => {
  let up: Upstream;
  let edge: EdgeProcess;
  let http: number;
  let https: number;
  let ca: string;
  let session: ClientHttp2Session;

  const connect = () => h2connect(`https://localhost:${https}`, {
    createConnection: () => tlsConnect({ host: '127.0.0.1', port: https, servername: 'localhost', ca, ALPNProtocols: ['h2'] }),
  });

  before(async () => {
    up = await startUpstream(app);
    http = await freePort();
    https = await freePort();
    const storage = join(writeTree({ 'x/': { dir: true } }), 'certs');
    const { file } = writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
admin: off
storage: ${storage}
log: { format: json }
limits: { max_header_size: 12KiB }
sites:
  - hosts: [localhost]
    tls: internal
    routes:
      # the uploads cut midway test the streamed path; buffered ones never reach the app (buffering.test.ts)
      - match: "~^/(streamed|sized|h1-upload)$"
        proxy: { to: ${up.address}, buffering: { request: false } }
      - proxy: { to: ${up.address} }
`);
    edge = await startEdge(['run', '-c', file], { port: http });
    await waitFor(() => edge.stderr().includes('certificate localhost: issued'), 'the local certificate', 15_000);
    ca = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
    session = connect();
    session.on('error', () => {});
  });

  after(async () => {
    session?.close();
    await edge?.stop();
    await up?.close();
  });

  it('an HTTP/2 upload cancelled midway without content-length never reaches the app as complete', async () => {
    // An aborted signal resets the stream (RST_STREAM CANCEL) with no END_STREAM, as a browser's
    // cancelled fetch does. stream.close(CANCEL) would not do here: Node's client first ends its
    // side (an empty DATA frame with END_STREAM), which makes the body complete before the reset.
    // Streamed through: larger than what edge holds back for a retry.
    const ac = new AbortController();
    await cancelUpload(session, '/streamed', {}, () => ac.abort(), ac.signal);
    await waitFor(() => seen.get('/streamed')!.outcome !== undefined, 'the app to learn how /streamed ended', 10_000);
    assert.equal(seen.get('/streamed')!.outcome, 'aborted', 'the app saw a complete body: edge ended the chunked request');
    await waitFor(() => accessFor(edge, '/streamed') !== undefined, 'the access line of /streamed', 10_000);
    assert.equal(accessFor(edge, '/streamed')!.status, 499);

    // held back whole before it goes upstream, then cancelled before it ends
    const held = new AbortController();
    const stream = session.request({ ':method': 'POST', ':path': '/held' }, { signal: held.signal });
    stream.on('error', () => {});
    await new Promise<void>((resolve) => stream.write(Buffer.alloc(16 * 1024, 'b'), () => resolve()));
    held.abort();
    await waitFor(() => accessFor(edge, '/held') !== undefined, 'the access line of /held', 10_000);
    // a request after it on the same upstream, answered: anything edge was going to send is sent by now
    assert.equal((await h2request(session, { ':path': '/after-held' })).status, 200);
    assert.notEqual(seen.get('/held')?.outcome, 'end', 'the app got the cancelled /held upload as a complete request');
    assert.equal(accessFor(edge, '/held')!.status, 499);
  });

  it('an HTTP/2 upload cancelled midway with content-length is cut at once, logged 499', async () => {
    await cancelUpload(session, '/sized', { 'content-length': String(1024 * 1024) }, (stream) => stream.close(constants.NGHTTP2_CANCEL));
    // well inside the 60 s read timeout that used to be the only thing ending it
    await waitFor(() => seen.get('/sized')!.outcome !== undefined, 'the upstream request of /sized to be cut', 10_000);
    assert.equal(seen.get('/sized')!.outcome, 'aborted');
    assert.ok(seen.get('/sized')!.bytes < 1024 * 1024);
    await waitFor(() => accessFor(edge, '/sized') !== undefined, 'the access line of /sized', 10_000);
    assert.equal(accessFor(edge, '/sized')!.status, 499);
    assert.doesNotMatch(edge.stderr(), /504 POST \/sized/);
  });

  it('a reset HTTP/2 stream is logged 499 not 200', async () => {
    const stream = session.request({ ':path': '/slow' });
    stream.on('error', () => {});
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.close(constants.NGHTTP2_CANCEL);
    await waitFor(() => accessFor(edge, '/slow') !== undefined, 'the access line of /slow', 10_000);
    assert.equal(accessFor(edge, '/slow')!.status, 499);
    // and the app's response is not left running for nobody
    await waitFor(() => seen.get('/slow')!.outcome === 'aborted', 'the upstream request of /slow to be closed', 10_000);
  });

  it('an HTTP/1.1 upload cut midway reaches the app aborted and is logged 499', async () => {
    const req = httpsRequest({
      host: '127.0.0.1', port: https, path: '/h1-upload', method: 'POST', servername: 'localhost', ca, agent: false,
      headers: { host: 'localhost', 'transfer-encoding': 'chunked' },
    });
    req.on('error', () => {});
    req.write(Buffer.alloc(256 * 1024, 'c'));
    await waitFor(() => (seen.get('/h1-upload')?.bytes ?? 0) > 0, 'the app receiving the first bytes of /h1-upload', 10_000);
    req.destroy();
    await waitFor(() => seen.get('/h1-upload')!.outcome !== undefined, 'the app to learn how /h1-upload ended', 10_000);
    assert.equal(seen.get('/h1-upload')!.outcome, 'aborted');
    await waitFor(() => accessFor(edge, '/h1-upload') !== undefined, 'the access line of /h1-upload', 10_000);
    assert.equal(accessFor(edge, '/h1-upload')!.status, 499);
  });

  it('200 cookie fields over HTTP/2 are accepted and reach the app as one cookie header', async () => {
    const cookies = Array.from({ length: 200 }, (_, i) => `cookie_${i}=${'v'.repeat(24)}`);
    const answer = await h2request(session, { ':path': '/cookies', cookie: cookies });
    assert.equal(answer.reset, undefined, `edge reset the stream (code ${answer.reset})`);
    assert.equal(answer.status, 200);
    const raw = seen.get('/cookies')!.req.rawHeaders;
    const fields = raw.filter((_, i) => i % 2 === 0 && raw[i]!.toLowerCase() === 'cookie');
    assert.equal(fields.length, 1, 'the app got the cookies as one header');
    assert.equal(seen.get('/cookies')!.req.headers.cookie, cookies.join('; '));
  });

  it('cookies past max_header_size get 431 over HTTP/2 as over HTTP/1.1', async () => {
    // about 14 KiB of cookies: past the 12 KiB limit, within Node's 16 KiB default
    const cookies = Array.from({ length: 360 }, (_, i) => `cookie_${i}=${'w'.repeat(24)}`);
    const h1 = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({
        host: '127.0.0.1', port: https, path: '/big-h1', servername: 'localhost', ca, agent: false,
        headers: { host: 'localhost', cookie: cookies.join('; ') },
      }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(h1, 431);
    const plain = await fetchRaw(http, '/big-plain', { headers: { host: 'localhost', cookie: cookies.join('; ') } });
    assert.equal(plain.status, 431);
    const h2 = await h2request(session, { ':path': '/big-h2', cookie: cookies });
    assert.equal(h2.reset === undefined || h2.reset === constants.NGHTTP2_NO_ERROR, true, `edge reset the stream (code ${h2.reset}) instead of answering`);
    assert.equal(h2.status, h1);
    assert.equal(seen.has('/big-h2'), false, 'the oversized request reached the app');
    await waitFor(() => accessFor(edge, '/big-h2') !== undefined, 'the access line of /big-h2', 10_000);
    assert.equal(accessFor(edge, '/big-h2')!.status, 431);
    // the connection still serves
    assert.equal((await h2request(session, { ':path': '/after-big' })).status, 200);
  });
});
