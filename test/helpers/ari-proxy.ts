// A transparent HTTPS proxy in front of Pebble that adds ARI (RFC 9773), which Pebble 2.4 lacks:
// the directory gains `renewalInfo`, renewal-info requests get a window (the first one already
// open, so edge renews at once), and every newOrder payload is recorded to check `replaces`.
// Pebble builds its URLs from the Host header, so keeping Host keeps the client on this proxy.

import { createServer, request } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Pebble } from './pebble.ts';

export interface AriProxy {
  directory: string;
  /** Decoded newOrder payloads, in order. */
  orders: Record<string, unknown>[];
  /** certIDs asked about, in order. */
  renewalInfoAsked: string[];
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

export async function startAriProxy(pebble: Pebble): Promise<AriProxy> {
  const upstream = new URL(pebble.directory);
  const orders: Record<string, unknown>[] = [];
  const renewalInfoAsked: string[] = [];
  const forward = (req: IncomingMessage, payload: Buffer, onBody?: (text: string) => string) =>
    new Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }>((resolve, reject) => {
      const out = request({
        host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers,
        ca: pebble.listenerCert.cert, servername: 'localhost', rejectUnauthorized: false,
      }, async (res) => {
        let data = await body(res);
        if (onBody) data = Buffer.from(onBody(data.toString()));
        resolve({ status: res.statusCode!, headers: res.headers, body: data });
      });
      out.on('error', reject);
      out.end(payload);
    });
  const server = createServer({ cert: pebble.listenerCert.cert, key: pebble.listenerCert.key }, async (req: IncomingMessage, res: ServerResponse) => {
    const payload = await body(req);
    const host = req.headers.host!;
    if (req.method === 'GET' && req.url!.startsWith('/renewal-info/')) {
      const id = req.url!.slice('/renewal-info/'.length);
      renewalInfoAsked.push(id);
      const now = Date.now();
      // the first certificate is told to renew now; its successor gets a window a month away
      const window = renewalInfoAsked.length === 1
        ? { start: new Date(now - 7_200_000), end: new Date(now - 3_600_000) }
        : { start: new Date(now + 30 * 86_400_000), end: new Date(now + 31 * 86_400_000) };
      res.writeHead(200, { 'content-type': 'application/json', 'retry-after': '21600' });
      res.end(JSON.stringify({ suggestedWindow: { start: window.start.toISOString(), end: window.end.toISOString() } }));
      return;
    }
    if (req.method === 'POST' && req.url === '/order-plz') {
      const jws = JSON.parse(payload.toString()) as { payload: string };
      orders.push(JSON.parse(Buffer.from(jws.payload, 'base64url').toString()));
    }
    const onBody = req.url === upstream.pathname
      ? (text: string) => JSON.stringify({ ...JSON.parse(text), renewalInfo: `https://${host}/renewal-info` })
      : undefined;
    const answer = await forward(req, payload, onBody);
    const headers = { ...answer.headers };
    delete headers['content-length'];
    delete headers['transfer-encoding'];
    res.writeHead(answer.status, { ...headers, 'content-length': answer.body.length });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    directory: `https://127.0.0.1:${port}${upstream.pathname}`,
    orders,
    renewalInfoAsked,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
