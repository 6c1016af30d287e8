// The floor of a Node proxy with a fast upstream client: node:http in, one undici Pool to the
// upstream (TCP or Unix socket) driven with Pool.stream, so the response head arrives in one
// callback and the body is written straight into the client's response. Hop-by-hop headers are
// dropped both ways (undici refuses some of them anyway). No routing, no logging.
// Usage: node bare-undici.ts LISTEN_PORT host:port|unix:/path.sock

import http from 'node:http';
import { Pool } from 'undici';
import { parseArgs } from './target.ts';

const { listenPort, upstream } = parseArgs(process.argv.slice(2));
// as many sockets as the bench has client connections, like nginx's keepalive 64
const pool = new Pool(`http://${upstream.socketPath ? 'localhost' : `${upstream.host}:${upstream.port}`}`, {
  connections: 64,
  pipelining: 1,
  ...(upstream.socketPath ? { socketPath: upstream.socketPath } : {}),
});
const HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

function endToEnd(headers: Record<string, string | string[] | undefined>): Record<string, string | string[] | undefined> {
  const out = { ...headers };
  for (const h of HOP) delete out[h];
  return out;
}

const server = http.createServer((req, res) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  pool.stream(
    { path: req.url ?? '/', method: req.method ?? 'GET', headers: endToEnd(req.headers), body: hasBody ? req : null, opaque: res },
    ({ statusCode, headers, opaque }) => {
      const out = opaque as http.ServerResponse;
      out.writeHead(statusCode, endToEnd(headers));
      return out;
    },
    (err) => {
      if (!err) return;
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    },
  );
});
server.listen(listenPort, '127.0.0.1', () => process.stderr.write(`bare undici proxy listening on ${listenPort}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections());
