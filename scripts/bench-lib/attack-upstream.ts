// The app behind both proxies in scripts/attacks: a node:http server that records what each
// request looked like from the app's side (complete with 'end', or cut short), so an attack can
// ask whether a proxy handed the app a request the client never finished. It also accepts
// WebSocket upgrades (a 101, then it reads and drops frames) and answers everything else 200.

import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  bytes: number;
  /** How the request body was framed on the way to the app: "content-length: N" or "chunked". */
  framing: string;
  startedAt: number;
  /** 'open' while the request body is still arriving; 'end' = complete; 'aborted' = cut short. */
  outcome: 'open' | 'end' | 'aborted';
  endedAt?: number;
}

export interface Upstream {
  port: number;
  /** Keyed by the request path: every attack uses paths of its own. */
  seen: Map<string, Seen>;
  close(): Promise<void>;
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export async function startUpstream(): Promise<Upstream> {
  const seen = new Map<string, Seen>();
  const upgraded = new Set<import('node:stream').Duplex>();   // closeAllConnections() leaves these
  const server = http.createServer((req, res) => {
    const length = req.headers['content-length'];
    const framing = length !== undefined ? `content-length: ${length}` : req.headers['transfer-encoding'] ?? 'no body';
    const record: Seen = { method: req.method ?? '?', bytes: 0, framing, startedAt: performance.now(), outcome: 'open' };
    seen.set(req.url ?? '?', record);
    req.on('data', (chunk: Buffer) => (record.bytes += chunk.length));
    req.on('end', () => {
      record.outcome = 'end';
      record.endedAt = performance.now();
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`got ${record.bytes} bytes\n`);
    });
    req.on('close', () => {
      if (record.outcome === 'open') {
        record.outcome = 'aborted';
        record.endedAt = performance.now();
      }
    });
    req.on('error', () => {});
    res.on('error', () => {});
  });
  server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) => {
    const record: Seen = { method: 'UPGRADE', bytes: head.length, framing: 'upgrade', startedAt: performance.now(), outcome: 'open' };
    seen.set(req.url ?? '?', record);
    upgraded.add(socket);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => (record.bytes += chunk.length));
    socket.on('close', () => {
      upgraded.delete(socket);
      record.outcome = 'end';
      record.endedAt = performance.now();
    });
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key'] ?? ''}${WS_GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      for (const socket of upgraded) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
