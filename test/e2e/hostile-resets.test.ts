// TCP resets at every point edge can meet one, from the client and from the upstream: edge keeps
// running, still answers a normal request afterwards, and logs what broke in a line that names it.
// Resets are real RST packets (socket.resetAndDestroy()), sent at the moment each test names. Each
// test has an edge of its own, so that one reset that kills edge fails only the test named for it.
// Last, the same for a log reader that goes away (EPIPE on stdout).

import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect as h2connect } from 'node:http2';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { freePort, logMessages, startEdge, waitFor, type EdgeProcess } from '../helpers/edge.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import { writeConfig } from '../helpers/config.ts';
import { fetchRaw } from '../helpers/http.ts';
import { httpsGet } from '../helpers/tls-client.ts';
import { captureClientHello, rawConnect, readUntil, textFrame, tlsOverRaw, upgradeRequest } from '../helpers/raw.ts';

const PLAIN = 'test.example';
const SECURE = 'localhost';
const CHUNK = Buffer.alloc(64 * 1024, 'x');
/** Bounds every wait for a consequence of a reset (or for edge to die of it). */
const SETTLE_MS = 5000;

/** What the upstreams saw, so a test can wait for the effect of its reset there. */
interface Seen {
  /** Uploads by path: complete when the whole body arrived, closed when the connection went. */
  uploads: Map<string, { bytes: number; complete: boolean; closed: boolean }>;
  /** Slow responses by path whose connection edge closed before they finished. */
  abandoned: Set<string>;
  /** WebSocket connections the upstream saw closed, by path. */
  wsClosed: string[];
}

function appHandler(seen: Seen) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url!;
    if (path.startsWith('/upload')) {
      const upload = { bytes: 0, complete: false, closed: false };
      seen.uploads.set(path, upload);
      req.on('data', (d: Buffer) => (upload.bytes += d.length));
      req.on('end', () => {
        upload.complete = true;
        res.end(`got ${upload.bytes}`);
      });
      req.on('close', () => (upload.closed = true));
    } else if (path.startsWith('/slow')) {
      // 64 KiB every 10 ms, 400 at most: long enough to be reset, bounded if it is not
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const timer = setInterval(() => {
        if (++sent > 400) {
          clearInterval(timer);
          res.end();
        } else res.write(CHUNK);
      }, 10);
      res.on('close', () => {
        clearInterval(timer);
        if (!res.writableFinished) seen.abandoned.add(path);
      });
    } else if (path.startsWith('/cut')) {
      // promises 1 MiB, sends 64 KiB, then resets its own connection
      res.writeHead(200, { 'content-length': 1024 * 1024 });
      res.write(CHUNK);
      setTimeout(() => res.socket?.resetAndDestroy(), 50);
    } else {
      res.end('ok');
    }
  };
}

/** WebSockets on the app: /ws echoes, /ws-reset resets the connection after its first echo, /ws-refuse resets the Upgrade before any answer. */
function attachWs(up: Upstream, seen: Seen): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true });
  up.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = req.url!;
    socket.on('error', () => {});
    if (path.startsWith('/ws-refuse')) {
      (socket as Socket).resetAndDestroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      ws.on('error', () => {});
      ws.on('close', () => seen.wsClosed.push(path));
      ws.on('message', (data) => {
        ws.send(`echo:${data.toString()}`);
        if (path.startsWith('/ws-reset')) setTimeout(() => (socket as Socket).resetAndDestroy(), 20);
      });
    });
  });
  return wss;
}

interface Rig {
  edge: EdgeProcess;
  http: number;
  https: number;
  admin: number;
  ca: string;
  seen: Seen;
  stop(): Promise<void>;
}

/**
 * edge with a plain-HTTP site (test.example) and a TLS site (localhost, local CA), both proxying
 * to an app with WebSockets, and /plain/ to an app without them.
 */
async function startRig(opts: { workers?: number } = {}): Promise<Rig> {
  const seen: Seen = { uploads: new Map(), abandoned: new Set(), wsClosed: [] };
  const app = await startUpstream(appHandler(seen));
  const wss = attachWs(app, seen);
  const plainApp = await startUpstream((_req, res) => res.end('no websockets here'));
  const [http, https, admin] = [await freePort(), await freePort(), await freePort()];
  const storage = join(mkdtempSync(join(tmpdir(), 'edge-resets-')), 'certs');
  const routes = `
    routes:
      - { match: /plain/, proxy: { to: ${plainApp.address} } }
      # uploads cut midway test the streamed path (a buffered one never reaches the app: buffering.test.ts)
      - { match: /upload, proxy: { to: ${app.address}, buffering: { request: false } } }
      - proxy: { to: ${app.address} }`;
  const { file } = writeConfig(`
http_port: ${http}
https_port: ${https}
bind: 127.0.0.1
admin: 127.0.0.1:${admin}
storage: ${storage}
grace_period: 2s
${opts.workers ? `workers: ${opts.workers}` : ''}
sites:
  - hosts: [${PLAIN}]
    tls: off${routes}
  - hosts: [${SECURE}]
    tls: internal${routes}
`);
  const edge = await startEdge(['run', '-c', file], { port: http, startMs: 60_000 });
  await waitFor(() => logMessages(edge.stderr()).includes(`certificate ${SECURE}: issued`), 'the local certificate', 30_000);
  const ca = readFileSync(join(storage, 'local', 'root.crt'), 'utf8');
  return {
    edge, http, https, admin, ca, seen,
    stop: async () => {
      await edge.stop();
      wss.close();
      await app.close();
      await plainApp.close();
    },
  };
}

function running(edge: EdgeProcess): boolean {
  return edge.proc.exitCode === null && edge.proc.signalCode === null;
}

/** Waits until `cond` holds or edge has exited, whichever comes first (bounded). */
async function settle(edge: EdgeProcess, cond: () => boolean, what: string | (() => string)): Promise<void> {
  await waitFor(() => cond() || !running(edge), what, SETTLE_MS);
}

/** edge has not exited, and answers a normal request on both listeners. */
async function assertServes(rig: Rig): Promise<void> {
  assert.ok(running(rig.edge), `edge exited (code ${rig.edge.proc.exitCode}):\n${logMessages(rig.edge.stderr()).slice(-2000)}`);
  const plain = await fetchRaw(rig.http, '/after', { timeoutMs: 10_000 });
  assert.equal(plain.status, 200);
  assert.equal(plain.text, 'ok');
  const secure = await httpsGet(rig.https, SECURE, '/after', rig.ca);
  assert.equal(secure.status, 200);
  assert.equal(secure.text, 'ok');
  assert.doesNotMatch(logMessages(rig.edge.stderr()), /internal error/);
}

/** Opens a WebSocket through edge on `stream`, sends one frame, reads its echo. */
async function wsEcho(stream: Duplex, path: string, host: string): Promise<void> {
  const reply = readUntil(stream, /echo:hello/);
  stream.write(upgradeRequest(path, host));
  stream.write(textFrame('hello'));
  assert.match(await reply, /^HTTP\/1\.1 101 /);
}

const accessLines = (edge: EdgeProcess, path: string, status: number) =>
  edge.stdout().split('\n').filter((l) => l.includes(` ${path} HTTP/`) && l.includes(`" ${status} `));

describe('client resets', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.stop());

  it('a client that resets a proxied WebSocket after the 101 and one frame does not crash edge (plain HTTP)', async () => {
    for (let i = 0; i < 5; i++) {
      const socket = await rawConnect(rig.http);
      socket.on('error', () => {});
      const path = `/ws-client-reset-${i}`;
      await wsEcho(socket, path, PLAIN);
      socket.resetAndDestroy();
      await settle(rig.edge, () => rig.seen.wsClosed.includes(path) && accessLines(rig.edge, path, 101).length === 1, `the upstream WebSocket ${path} closed`);
      assert.ok(rig.seen.wsClosed.includes(path), 'edge closes the upstream side of a WebSocket its client reset');
    }
    await assertServes(rig);
    const errors = logMessages(rig.edge.stderr());
    assert.equal(errors.match(/websocket \/ws-client-reset-0 on test\.example: the client's connection failed: read ECONNRESET/g)?.length, 1, errors);
    assert.doesNotMatch(errors, /upstream \S+ reset the connection/, 'a client reset is not blamed on the upstream');
  });

  it('a client that resets a proxied WebSocket after the 101 and one frame does not crash edge (TLS)', async () => {
    for (let i = 0; i < 3; i++) {
      const { raw, tls } = await tlsOverRaw(rig.https, SECURE, rig.ca, ['http/1.1']);
      const path = `/wss-client-reset-${i}`;
      await wsEcho(tls, path, SECURE);
      raw.resetAndDestroy();
      await settle(rig.edge, () => rig.seen.wsClosed.includes(path) && accessLines(rig.edge, path, 101).length === 1, `the upstream WebSocket ${path} closed`);
      assert.ok(rig.seen.wsClosed.includes(path), 'edge closes the upstream side of a WebSocket its client reset');
    }
    await assertServes(rig);
  });

  it('a WebSocket Upgrade reset at once, before the upstream answers, does not crash edge, and edge does not keep the upstream WebSocket open', async () => {
    for (let i = 0; i < 5; i++) {
      const socket = await rawConnect(rig.http);
      socket.on('error', () => {});
      const path = `/ws-early-reset-${i}`;
      socket.write(upgradeRequest(path, PLAIN));
      socket.resetAndDestroy();
      await settle(rig.edge, () => rig.seen.wsClosed.includes(path), `the upstream WebSocket ${path} closed`);
      assert.ok(rig.seen.wsClosed.includes(path), `the upstream side of ${path} was left open`);
      await settle(rig.edge, () => accessLines(rig.edge, path, 499).length === 1, `499 for ${path}`);
      assert.equal(accessLines(rig.edge, path, 499).length, 1, rig.edge.stdout());
    }
    assert.doesNotMatch(logMessages(rig.edge.stderr()), /upstream \S+ reset the connection/, 'a client reset is not blamed on the upstream');
    await assertServes(rig);
  });

  it('an Upgrade to a plain-HTTP app, reset at once, does not crash edge', async () => {
    for (let i = 0; i < 5; i++) {
      const socket = await rawConnect(rig.http);
      socket.on('error', () => {});
      const path = `/plain/upgrade-reset-${i}`;
      socket.write(upgradeRequest(path, PLAIN));
      socket.resetAndDestroy();
      await settle(rig.edge, () => rig.edge.stdout().includes(` ${path} HTTP/`), `the access log line of ${path}`);
    }
    await assertServes(rig);
  });

  for (const framing of ['content-length', 'chunked'] as const) {
    it(`a client that resets mid-request (headers sent, ${framing} body half-sent) does not crash edge, and the app never gets a complete body`, async () => {
      const socket = await rawConnect(rig.http);
      socket.on('error', () => {});
      const path = `/upload-reset-${framing}`;
      // past the 64 KiB held for a retry with request buffering off, so edge streams the body on
      const half = Buffer.concat([CHUNK, CHUNK]);
      const head = framing === 'content-length' ? `Content-Length: ${4 * CHUNK.length}\r\n` : 'Transfer-Encoding: chunked\r\n';
      socket.write(`POST ${path} HTTP/1.1\r\nHost: ${PLAIN}\r\n${head}\r\n`);
      socket.write(framing === 'chunked' ? Buffer.concat([Buffer.from(`${half.length.toString(16)}\r\n`), half, Buffer.from('\r\n')]) : half);
      await settle(rig.edge, () => (rig.seen.uploads.get(path)?.bytes ?? 0) >= half.length, `the app receiving the first half of ${path}`);
      socket.resetAndDestroy();
      await settle(rig.edge, () => rig.seen.uploads.get(path)?.closed === true, `the app's request ${path} closed`);
      assert.equal(rig.seen.uploads.get(path)?.complete, false, 'the app never took the half body for a whole one');
      await settle(rig.edge, () => accessLines(rig.edge, path, 499).length === 1, `499 for ${path} in the access log`);
      assert.equal(accessLines(rig.edge, path, 499).length, 1, rig.edge.stdout());
      await assertServes(rig);
    });
  }

  it('a client that resets mid-response (a large, slow upstream response) does not crash edge, which closes the upstream request', async () => {
    const socket = await rawConnect(rig.http);
    socket.on('error', () => {});
    const path = '/slow-client-reset';
    const started = readUntil(socket, /x{1000}/);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${PLAIN}\r\n\r\n`);
    assert.match(await started, /^HTTP\/1\.1 200 /);
    socket.resetAndDestroy();
    await settle(rig.edge, () => rig.seen.abandoned.has(path), `the upstream response ${path} abandoned`);
    assert.ok(rig.seen.abandoned.has(path), 'edge closed the upstream request it no longer had a client for');
    await settle(rig.edge, () => accessLines(rig.edge, path, 499).length === 1, `499 for ${path}`);
    assert.equal(accessLines(rig.edge, path, 499).length, 1, rig.edge.stdout());
    await assertServes(rig);
  });

  it('a client that resets mid-TLS-handshake (after its ClientHello) does not crash edge', async () => {
    const hello = await captureClientHello(SECURE);
    for (let i = 0; i < 5; i++) {
      const socket = await rawConnect(rig.https);
      socket.on('error', () => {});
      const answered = readUntil(socket, /^\x16\x03/);
      socket.write(hello);
      // reset once edge answered the hello with its ServerHello: the handshake is under way
      await answered;
      socket.resetAndDestroy();
    }
    // and once right after the hello, before edge could answer
    const socket = await rawConnect(rig.https);
    socket.on('error', () => {});
    socket.write(hello);
    socket.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 200));
    await assertServes(rig);
  });

  it('a client that resets its TCP connection with HTTP/2 streams open does not crash edge', async () => {
    const { raw, tls } = await tlsOverRaw(rig.https, SECURE, rig.ca, ['h2']);
    assert.equal(tls.alpnProtocol, 'h2');
    const session = h2connect(`https://${SECURE}:${rig.https}`, { createConnection: () => tls });
    session.on('error', () => {});
    const paths = ['/slow-h2-0', '/slow-h2-1', '/slow-h2-2'];
    const streams = paths.map((p) => session.request({ ':path': p }).on('error', () => {}));
    // every stream has its response under way, and one more is sending its body
    await Promise.all(streams.map((s) => new Promise((resolve) => s.once('data', resolve))));
    const upload = session.request({ ':path': '/upload-h2', ':method': 'POST' }).on('error', () => {});
    // past the 64 KiB held for a retry with request buffering off, so the body streams on to the app
    upload.write(Buffer.concat([CHUNK, CHUNK]));
    await settle(rig.edge, () => (rig.seen.uploads.get('/upload-h2')?.bytes ?? 0) > 0, 'the HTTP/2 upload under way');
    raw.resetAndDestroy();
    await settle(rig.edge, () => paths.every((p) => rig.seen.abandoned.has(p)), () => `the upstream responses of the HTTP/2 streams abandoned: ${[...rig.seen.abandoned].join(', ')}\n${rig.edge.stdout()}\n${logMessages(rig.edge.stderr())}`);
    assert.deepEqual(paths.filter((p) => !rig.seen.abandoned.has(p)), [], 'edge closed the upstream requests of the streams that went');
    await assertServes(rig);
  });
});

describe('upstream resets', () => {
  let rig: Rig;
  beforeEach(async () => {
    rig = await startRig();
  });
  afterEach(() => rig.stop());

  it('an upstream that resets its connection mid-response body does not crash edge; the client\'s response is cut, not passed off as complete', async () => {
    const socket = await rawConnect(rig.http);
    socket.on('error', () => {});
    const head = readUntil(socket, /x{1000}/);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    let bytes = 0;
    socket.on('data', (d: Buffer) => (bytes += d.length));
    socket.write(`GET /cut HTTP/1.1\r\nHost: ${PLAIN}\r\n\r\n`);
    assert.match(await head, /^HTTP\/1\.1 200 [^]*content-length: 1048576/i);
    await Promise.race([closed, new Promise((r) => setTimeout(r, SETTLE_MS))]);
    assert.ok(socket.destroyed, 'edge closed the client connection of the cut response');
    assert.ok(bytes < 1024 * 1024, 'the client got less than the promised length');
    const logged = /upstream \S+ broke off its response to GET \/cut on test\.example/;
    await settle(rig.edge, () => logged.test(logMessages(rig.edge.stderr())), () => `the broken-off response logged:\n${logMessages(rig.edge.stderr())}`);
    assert.doesNotMatch(logMessages(rig.edge.stderr()), /502 GET \/cut/, 'no 502 is logged for a response whose 200 went out');
    await assertServes(rig);
  });

  it('an upstream that resets mid-body under an HTTP/2 stream does not crash edge; the stream is reset, not ended as if complete', async () => {
    const { tls } = await tlsOverRaw(rig.https, SECURE, rig.ca, ['h2']);
    const session = h2connect(`https://${SECURE}:${rig.https}`, { createConnection: () => tls });
    session.on('error', () => {});
    try {
      const stream = session.request({ ':path': '/cut-h2' });
      let bytes = 0;
      stream.on('data', (d: Buffer) => (bytes += d.length));
      const outcome = await new Promise<string>((resolve) => {
        stream.once('end', () => resolve('ended'));
        stream.once('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
        stream.once('close', () => resolve(`closed with code ${stream.rstCode}`));
        setTimeout(() => resolve('still open'), SETTLE_MS);
      });
      assert.match(outcome, /^(error|closed with code [1-9])/, `the stream was ${outcome} after ${bytes} bytes`);
      assert.ok(bytes < 1024 * 1024);
    } finally {
      session.destroy();
    }
    await assertServes(rig);
  });

  for (const scheme of ['http', 'https'] as const) {
    it(`an upstream that resets a WebSocket after the 101 does not crash edge; the client's connection is closed (${scheme})`, async () => {
      const path = `/ws-reset-${scheme}`;
      let stream: Duplex;
      let host: string;
      if (scheme === 'http') {
        stream = await rawConnect(rig.http);
        stream.on('error', () => {});
        host = PLAIN;
      } else {
        stream = (await tlsOverRaw(rig.https, SECURE, rig.ca, ['http/1.1'])).tls;
        host = SECURE;
      }
      const closed = new Promise((resolve) => stream.once('close', resolve));
      await wsEcho(stream, path, host);
      await Promise.race([closed, new Promise((r) => setTimeout(r, SETTLE_MS))]);
      assert.ok(stream.destroyed, 'edge closed the client side of the WebSocket its upstream reset');
      await settle(rig.edge, () => logMessages(rig.edge.stderr()).includes(`websocket ${path} on ${host}: upstream`), 'the upstream reset logged');
      assert.match(logMessages(rig.edge.stderr()), new RegExp(`websocket ${path} on ${host}: upstream \\S+ reset the connection`));
      await assertServes(rig);
    });
  }

  for (const scheme of ['http', 'https'] as const) {
    it(`an upstream that resets the Upgrade before answering does not crash edge; the client gets 502 (${scheme})`, async () => {
      const stream = scheme === 'http' ? await rawConnect(rig.http) : (await tlsOverRaw(rig.https, SECURE, rig.ca, ['http/1.1'])).tls;
      stream.on('error', () => {});
      const answer = readUntil(stream, /\r\n\r\n/);
      stream.write(upgradeRequest('/ws-refuse', scheme === 'http' ? PLAIN : SECURE));
      assert.match(await answer, /^HTTP\/1\.1 502 /);
      await assertServes(rig);
    });
  }
});

describe('workers: 2 and client WebSocket resets', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig({ workers: 2 });
  });
  after(() => rig.stop());

  it('six client resets of proxied WebSockets kill no worker; /health stays ok', async () => {
    const health = async () => JSON.parse((await fetchRaw(rig.admin, '/health', { headers: { host: 'localhost' } })).text) as {
      status: string; workers: { pids: number[]; restarts: number };
    };
    const before = await health();
    assert.equal(before.status, 'ok');
    for (let i = 0; i < 6; i++) {
      const socket = await rawConnect(rig.http);
      socket.on('error', () => {});
      const path = `/ws-workers-reset-${i}`;
      await wsEcho(socket, path, PLAIN);
      socket.resetAndDestroy();
      await settle(rig.edge, () => rig.seen.wsClosed.includes(path) || /worker \d+ died/.test(logMessages(rig.edge.stderr())), `the upstream WebSocket ${path} closed`);
    }
    await assertServes(rig);
    const now = await health();
    assert.doesNotMatch(logMessages(rig.edge.stderr()), /worker \d+ died|internal error/);
    assert.equal(now.status, 'ok');
    assert.equal(now.workers.restarts, 0);
    assert.deepEqual(now.workers.pids, before.workers.pids);
  });
});

describe('a log reader that goes away', () => {
  it('an access-log reader that closes its pipe (EPIPE on stdout) does not stop edge, which says so once on stderr', async () => {
    const app = await startUpstream((_req, res) => res.end('ok'));
    const edge = await startEdge(['--domain', PLAIN, '--to', app.address, '--http-port', '{port}', '--tls', 'off', '--bind', '127.0.0.1', '--admin', 'off']);
    try {
      edge.proc.stdout!.destroy();
      assert.equal((await fetchRaw(edge.port, '/first')).text, 'ok');
      // the access line of /first is written within 100 ms, into the closed pipe
      await waitFor(() => logMessages(edge.stderr()).includes('cannot write log stdout') || !running(edge), 'the closed pipe noticed', SETTLE_MS);
      assert.ok(running(edge), `edge exited (code ${edge.proc.exitCode}):\n${logMessages(edge.stderr()).slice(-2000)}`);
      for (let i = 0; i < 3; i++) assert.equal((await fetchRaw(edge.port, `/after-${i}`)).text, 'ok');
      // their access lines are due within 100 ms: a few flushes, none of which may stop edge
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(logMessages(edge.stderr()).match(/cannot write log stdout: write EPIPE/g)?.length, 1, logMessages(edge.stderr()));
      assert.ok(running(edge));
    } finally {
      await edge.stop();
      await app.close();
    }
  });
});
