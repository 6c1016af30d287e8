// The sockets edge listens on and the limits Node enforces on them. Each listener is one
// node:http server sharing the request handler; a TLS listener slots in beside it.

import { createServer, type Server } from 'node:http';
import type { Server as TcpServer } from 'node:net';
import type { Limits } from '../config/schema.ts';
import type { Logger } from '../ops/log.ts';
import { reportFileLimit } from '../ops/open-files.ts';
import type { RequestHandler } from './handler.ts';
import { EdgeResponse } from './response.ts';

export class ListenError extends Error {
  readonly code: string;
  constructor(address: string, err: NodeJS.ErrnoException) {
    const why = err.code === 'EADDRINUSE' ? 'the address is already in use'
      : err.code === 'EACCES' ? 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)'
      : err.code === 'EADDRNOTAVAIL' ? 'no such address on this machine'
      : err.message;
    super(`cannot listen on ${address}: ${why}`);
    this.name = 'ListenError';
    this.code = err.code ?? 'ELISTEN';
  }
}

export function createHttpServer(limits: Limits, handler: RequestHandler): Server {
  const server = createServer({
    ServerResponse: EdgeResponse,
    maxHeaderSize: limits.max_header_size,
    headersTimeout: limits.header_timeout,
    // the whole-request clock would cut long uploads; body_timeout watches for stalls instead
    requestTimeout: 0,
    keepAliveTimeout: limits.keepalive_timeout,
    connectionsCheckingInterval: headerSweepInterval(limits.header_timeout),
    // only WebSocket upgrades leave the request path; anything else (h2c) is served as plain HTTP/1.1
    shouldUpgradeCallback: (req) => req.headers.upgrade?.toLowerCase() === 'websocket',
  }, handler.onRequest);
  keepHalfOpen(server);
  server.on('upgrade', handler.onUpgrade);
  server.on('connect', handler.onConnect);
  server.on('clientError', handler.onClientError);
  // decide on "Expect: 100-continue" in the route (body limits) rather than always saying yes
  server.on('checkContinue', handler.onCheckContinue);
  return server;
}

/**
 * How often Node looks for heads past header_timeout. Its deadline runs from a request's first
 * byte, but it is only checked on this sweep, so a head can outlive it by up to one interval:
 * Node's default of 30 s, or the half of header_timeout edge used before, let 8 s fire at 12 s.
 * At most a second late, as nginx is exact; the sweep walks only connections in the middle of a
 * request, so a few a second cost nothing measurable.
 */
export function headerSweepInterval(headerTimeout: number): number {
  if (headerTimeout <= 0) return 5000;
  return Math.max(100, Math.min(1000, Math.round(headerTimeout / 8)));
}

export function displayAddress(host: string | undefined, port: number): string {
  if (host === undefined) return `*:${port}`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Resolves once listening; an error after that (a failed accept) is logged, and the server listens on. */
export function listen(server: TcpServer, port: number, host: string | undefined, logger: Logger): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(new ListenError(displayAddress(host, port), err));
    server.once('error', onError);
    server.listen({ port, host }, () => {
      server.off('error', onError);
      server.on('error', (err: NodeJS.ErrnoException) => {
        if (!reportFileLimit(err, logger, `accept on ${displayAddress(host, port)} failed`)) logger.error(`listener ${displayAddress(host, port)}: ${err.message}`);
      });
      resolve();
    });
  });
}

/**
 * A client may send its request and then close its side (shutdown(SHUT_WR), `nc -N`, some
 * scripts): what edge answers itself (files, redirects, cached responses) is still owed, as nginx
 * gives it. Node's server otherwise aborts the request at that end of input. The proxy decides
 * for itself (src/proxy/body.ts: a FIN while the app has not answered is the client leaving). The
 * connection closes once the answer is sent.
 */
export function keepHalfOpen(server: object): void {
  (server as { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
}
