// The floor edge is measured against: http-proxy-3 as its README shows it, with a keep-alive agent
// (as edge has) and nothing else: no routing, no header work, no logging.
// Usage: node bare-http-proxy-3.ts LISTEN_PORT host:port|unix:/path.sock

import http from 'node:http';
import { ProxyServer } from 'http-proxy-3';
import { parseArgs } from './target.ts';

const { listenPort, upstream } = parseArgs(process.argv.slice(2));

const proxy = new ProxyServer({
  target: { ...upstream, protocol: 'http:' },
  agent: new http.Agent({ keepAlive: true }),
});
// without a listener an upstream error would throw; answer 502 like any proxy would
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end();
  else res.destroy();
});

const server = http.createServer((req, res) => proxy.web(req, res));
server.listen(listenPort, '127.0.0.1', () => process.stderr.write(`bare http-proxy-3 listening on ${listenPort}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections());
