// Real upstream servers for tests, on TCP or on a Unix socket in a temp dir.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Upstream {
  server: Server;
  /** What to give edge's --to / proxy.to. */
  address: string;
  /** Requests received so far. */
  requests: IncomingMessage[];
  close(): Promise<void>;
}

export async function startUpstream(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  opts: { unix?: boolean } = {},
): Promise<Upstream> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  let dir: string | undefined;
  let address: string;
  if (opts.unix) {
    dir = mkdtempSync(join(tmpdir(), 'edge-up-'));
    const path = join(dir, 'app.sock');
    await new Promise<void>((resolve) => server.listen(path, resolve));
    address = `unix:${path}`;
  } else {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as { port: number }).port}`;
  }
  return {
    server,
    address,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        if (dir) rmSync(dir, { recursive: true, force: true });
        resolve();
      });
    }),
  };
}

/** Answers with the request line and headers it got, as JSON. */
export function echo(req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
