// Reference point: the least a Node reverse proxy can do. node:http in, http.request out over a
// keep-alive agent, bodies piped both ways, hop-by-hop headers dropped. No logging.
// Usage: node node-http-proxy.ts LISTEN_PORT host:port|unix:/path.sock

import http from 'node:http';
import { parseArgs } from './target.ts';

const { listenPort, upstream } = parseArgs(process.argv.slice(2));
const agent = new http.Agent({ keepAlive: true });
const HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = { ...headers };
  for (const h of HOP) delete out[h];
  return out;
}

const server = http.createServer((req, res) => {
  const out = http.request({ ...upstream, agent, method: req.method, path: req.url, headers: endToEnd(req.headers) }, (up) => {
    res.writeHead(up.statusCode ?? 502, endToEnd(up.headers));
    up.pipe(res);
  });
  out.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  req.pipe(out);
});
server.listen(listenPort, '127.0.0.1', () => process.stderr.write(`node:http proxy listening on ${listenPort}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections());
