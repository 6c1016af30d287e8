// The attacks scripts/attacks replays (items 1, 2 and 12 of the hostile-clients issue), each run
// against one proxy and summed up as one table cell: what happened, and whether a careful proxy
// would have done the same (`ok`). Every socket and stream here has an error listener: the
// attacks provoke errors on purpose.

import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { Upstream } from './attack-upstream.ts';
import { HOST, sleep, type Proxy } from './attack-proxies.ts';

export interface Cell {
  text: string;
  ok: boolean;
}

let serial = 0;
/** A request path no other attack uses, so the upstream's records and the access logs tell them apart. */
function path(what: string, proxy: Proxy): string {
  return `/${what}/${proxy.name}-${++serial}`;
}

async function waitUntil(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

// ---- item 1: WebSocket upgrade, one frame, TCP RST ---------------------------------------------

/** A masked client text frame (RFC 6455 §5.2): "hello". */
function frame(): Buffer {
  const payload = Buffer.from('hello');
  const mask = randomBytes(4);
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x81;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ mask[i % 4]!;
  return out;
}

/** One upgrade through the proxy, a frame once the 101 is in, then a reset; resolves when it is sent. */
function upgradeAndReset(proxy: Proxy, overTls: boolean, up: Upstream): Promise<string | undefined> {
  const p = path('ws', proxy);
  return new Promise((resolve) => {
    const raw = net.connect(overTls ? proxy.httpsPort : proxy.httpPort, '127.0.0.1');
    raw.on('error', () => {});
    const stream: net.Socket = overTls ? tls.connect({ socket: raw, servername: HOST, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }) : raw;
    stream.on('error', () => {});
    const timer = setTimeout(() => finish('no 101 within 3 s'), 3000);
    let head = '';
    let done = false;
    const finish = (problem?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // a reset, not a FIN: the kernel sends RST when the socket is closed with SO_LINGER 0
      if (!raw.destroyed) raw.resetAndDestroy();
      resolve(problem);
    };
    stream.once(overTls ? 'secureConnect' : 'connect', () => {
      stream.write(`GET ${p} HTTP/1.1\r\nHost: ${HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
        + `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    stream.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      if (!head.startsWith('HTTP/1.1 101')) return finish(`got "${head.split('\r\n')[0]}"`);
      stream.write(frame());
      // reset once the frame reached the app (or soon anyway), so the proxy holds a live tunnel
      void waitUntil(() => (up.seen.get(p)?.bytes ?? 0) > 0, 1000).then(() => finish());
    });
    stream.on('close', () => finish(head ? undefined : 'closed before any answer'));
  });
}

export async function wsReset(proxy: Proxy, up: Upstream, overTls: boolean, times: number): Promise<Cell> {
  const problems: string[] = [];
  for (let i = 1; i <= times; i++) {
    const problem = await upgradeAndReset(proxy, overTls, up);
    if (problem) problems.push(`#${i}: ${problem}`);
    await sleep(300);   // time for a crash to happen
    if (!proxy.alive()) return { text: `DIED after reset ${i} of ${times} (${proxy.howItDied()})`, ok: false };
  }
  const status = await proxy.get('/');
  const issues = problems.length ? `; upgrade problems: ${problems.slice(0, 2).join(', ')}` : '';
  return { text: `alive after ${times} resets, GET / then ${status || 'no answer'}${issues}`, ok: status === 200 };
}

// ---- HTTP/2 plumbing -----------------------------------------------------------------------------

function h2session(proxy: Proxy): http2.ClientHttp2Session {
  const session = http2.connect(`https://127.0.0.1:${proxy.httpsPort}`, { servername: HOST, rejectUnauthorized: false });
  session.on('error', () => {});
  return session;
}

/** RFC 9113 §7 error codes, for RST_STREAM. */
const RST_NAMES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED',
  'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];

// ---- item 2: an HTTP/2 upload cancelled midway ---------------------------------------------------

const SENT = 64 * 1024;
const DECLARED = 1024 * 1024;

export async function h2CancelledUpload(proxy: Proxy, up: Upstream, withLength: boolean, waitMs: number): Promise<Cell> {
  const p = path(withLength ? 'upload-cl' : 'upload', proxy);
  const session = h2session(proxy);
  try {
    const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': p, ':authority': HOST, 'content-type': 'application/octet-stream' };
    if (withLength) headers['content-length'] = String(DECLARED);
    const req = session.request(headers);
    req.on('error', () => {});
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    const chunk = Buffer.alloc(16 * 1024, 'x');
    for (let sent = 0; sent < SENT; sent += chunk.length) await new Promise<void>((resolve) => req.write(chunk, () => resolve()));
    // let the proxy pass on what it got, as a client that gives up midway would
    await waitUntil(() => (up.seen.get(p)?.bytes ?? 0) >= SENT, 1000);
    req.close(http2.constants.NGHTTP2_CANCEL);
    const cancelledAt = performance.now();
    // done when the app's request is over, or when the proxy logged it without ever asking the app
    await waitUntil(() => {
      const seen = up.seen.get(p);
      return seen ? seen.outcome !== 'open' : proxy.loggedStatus(p) !== undefined;
    }, waitMs);
    await sleep(300);   // an access log written in batches
    const seen = up.seen.get(p);
    const logged = proxy.loggedStatus(p);
    const answered = status ? `, client got ${status}` : '';
    const log = logged ? `logged ${logged}` : 'no log line yet';
    if (!seen) return { text: `app never asked (the proxy buffers bodies); ${log}${answered}`, ok: true };
    if (seen.outcome === 'open') {
      return { text: `app request STILL OPEN ${(waitMs / 1000).toFixed(0)} s after the cancel (${seen.bytes} B so far); ${log}`, ok: false };
    }
    const delay = (seen.endedAt! - cancelledAt) / 1000;
    const after = delay < 0 ? `${(-delay).toFixed(2)} s BEFORE the cancel` : `${delay.toFixed(2)} s after the cancel`;
    if (seen.outcome === 'end') {
      return { text: `app got a COMPLETE request: ${seen.bytes} B, ${seen.framing}, 'end' ${after}; ${log}${answered}`, ok: false };
    }
    return { text: `app saw it aborted after ${seen.bytes} B (${seen.framing}), ${after}; ${log}`, ok: true };
  } finally {
    session.destroy();
  }
}

// ---- item 12: 200 cookie fields over HTTP/2 ------------------------------------------------------

const COOKIES = Array.from({ length: 200 }, (_, i) => `c${i}=${'v'.repeat(8)}`);

export async function h2ManyCookies(proxy: Proxy): Promise<Cell> {
  const session = h2session(proxy);
  try {
    // an array is sent as one cookie field per value, as browsers do over HTTP/2 (RFC 9113 §8.2.3)
    const req = session.request({ ':method': 'GET', ':path': path('cookies', proxy), ':authority': HOST, cookie: COOKIES });
    req.on('error', () => {});
    req.end();
    const result = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve('no answer within 5 s'), 5000);
      req.on('response', (h) => {
        clearTimeout(timer);
        resolve(`${h[':status']}`);
      });
      req.on('close', () => {
        clearTimeout(timer);
        resolve(`RST_STREAM ${req.rstCode} (${RST_NAMES[req.rstCode ?? -1] ?? '?'})`);
      });
    });
    req.resume();
    return { text: result, ok: result === '200' };
  } finally {
    session.destroy();
  }
}

/** The same 200 cookies in one Cookie line over HTTP/1.1: the reference the HTTP/2 answer should match. */
export async function h1ManyCookies(proxy: Proxy): Promise<Cell> {
  const status = await proxy.get(path('cookies-h1', proxy), { cookie: COOKIES.join('; ') });
  return { text: status ? String(status) : 'no answer', ok: status === 200 };
}
