// The ceiling for any cache in a Node process, for the cache-hit row: fetches the upstream's
// /cached response once, then answers every request with it from memory, one writeHead and one
// end() on node:http, with the Age and Cache-Status lines edge adds to a hit. No routing, no cache
// policy, no logging, no metrics: what is left is the cost of Node's HTTP/1.1 server itself.
// Usage: node node-floor.ts LISTEN_PORT host:port|unix:/path.sock

import http from 'node:http';
import { parseArgs } from './target.ts';

const { listenPort, upstream } = parseArgs(process.argv.slice(2));

const stored = await new Promise<{ status: number; head: string[]; body: Buffer }>((resolve, reject) => {
  http.get({ ...upstream, path: '/cached', headers: { host: 'bench.local' } }, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => {
      const head: string[] = [];
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        const name = res.rawHeaders[i]!.toLowerCase();
        if (name !== 'connection' && name !== 'keep-alive' && name !== 'transfer-encoding') head.push(name, res.rawHeaders[i + 1]!);
      }
      resolve({ status: res.statusCode!, head: [...head, 'age', '0', 'cache-status', 'edge; hit; ttl=3600'], body: Buffer.concat(chunks) });
    });
  }).on('error', reject);
});

const server = http.createServer((_req, res) => {
  res.writeHead(stored.status, stored.head);
  res.end(stored.body);
});
server.listen(listenPort, '127.0.0.1', () => process.stderr.write(`node:http floor listening on ${listenPort}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)).closeAllConnections());
