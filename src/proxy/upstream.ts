// The connections of one config generation to its upstream servers: an undici Pool per upstream
// address (HTTP/1.1 keep-alive over TCP, TLS or a Unix socket) for requests, and for WebSocket
// upgrades a keep-alive http(s).Agent with an http-proxy-3 server, loaded at the first upgrade.
// TLS connections are made with the pool's tls: settings (see tlsOptions).
// Shared by every route that names the same address; closed together when the generation is
// retired.

import { Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Duplex } from 'node:stream';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type { buildConnector as UndiciBuildConnector, Pool as UndiciPool } from 'undici';
import type { ProxyServer } from 'http-proxy-3';
import type { UpstreamAddress, UpstreamTls } from '../config/address.ts';
import type { Logger } from '../ops/log.ts';
import { requestHost, type EdgeRequest, type EdgeResponse } from '../server/response.ts';

// undici's entry file loads all of it (fetch, WebSocket, caches, mocks): 28 MiB of RSS in every
// process, where its Pool alone is 16. Its package has no exports map, so the file is reachable
// by path, and test/unit/undici-pool.test.ts checks that it still is the Pool undici exports.
const load = createRequire(import.meta.url);
const Pool = load('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
type Pool = UndiciPool;
const buildConnector = load('undici/lib/core/connect.js') as typeof UndiciBuildConnector;

export type EdgeProxy = ProxyServer<typeof IncomingMessage, typeof EdgeResponse>;

export interface Timeouts {
  connect: number;
  read: number;
}

export class Upstreams {
  private readonly logger: Logger;
  private readonly pools = new Map<string, Pool>();
  private readonly agents = new Map<string, Agent>();
  private readonly proxies = new Map<string, Promise<EdgeProxy>>();

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** The request pool for `address`; routes with another connect timeout get their own. */
  pool(address: UpstreamAddress, connectTimeout: number): Pool {
    const key = `${connectionKey(address)} ${connectTimeout}`;
    let pool = this.pools.get(key);
    if (!pool) {
      const tls = address.kind === 'tcp' ? address.tls : undefined;
      const connect = address.kind === 'tcp' && tls
        ? tlsConnector(address.host, tls, connectTimeout)
        : { timeout: connectTimeout, ...(address.kind === 'unix' ? { socketPath: address.path } : {}) };
      // with socketPath set, the origin only names the pool; the socket is what connects
      const origin = address.kind === 'unix' ? 'http://localhost' : `${tls ? 'https' : 'http'}://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
      pool = new Pool(origin, {
        connect,
        pipelining: 1,
        // timeouts are the route's, set on each request
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      // a connection's failure is reported to the request on it; this only keeps the emitter quiet
      pool.on('connectionError', noop);
      // bytes with no request waiting for them: undici drops them with the connection (as nginx does)
      pool.on('disconnect', (_origin, _targets, err) => {
        if (err.message === 'bad response') this.logger.error(`upstream ${address.name} sent bytes after the end of a response (more body than its Content-Length?): they were dropped and the connection closed`);
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** The http-proxy-3 server for WebSocket upgrades to `address`, with its own keep-alive agent. */
  upgrader(address: UpstreamAddress, connectTimeout: number): Promise<EdgeProxy> {
    const key = `${connectionKey(address)} ${connectTimeout}`;
    let proxy = this.proxies.get(key);
    if (!proxy) {
      proxy = import('http-proxy-3').then(({ ProxyServer }) => {
        const server = new ProxyServer<typeof IncomingMessage, typeof EdgeResponse>({
          target: address.kind === 'unix'
            ? { host: 'localhost', port: 80, protocol: 'http:', socketPath: address.path }
            : { host: address.host, port: address.port, protocol: address.tls ? 'https:' : 'http:' },
          agent: this.agent(address),
          xfwd: false,
          toProxy: true,
          prependPath: false,
          ...(connectTimeout > 0 ? { connectTimeout } : {}),
        });
        // it re-emits a WebSocket client's socket errors here for as long as the connection lives:
        // without a listener EventEmitter throws them, and one client's reset stopped edge
        server.on('error', (err: Error, req: IncomingMessage, target: Duplex | EdgeResponse) => {
          this.logger.info(`websocket ${req.url} on ${requestHost(req)}: the client's connection failed: ${err.message}`, req);
          target.destroy();
        });
        server.on('proxyReqWs', closeWithClient);
        return server;
      });
      this.proxies.set(key, proxy);
    }
    return proxy;
  }

  destroy(): void {
    for (const pool of this.pools.values()) void pool.destroy().catch(noop);
    for (const agent of this.agents.values()) agent.destroy();
    this.pools.clear();
    this.agents.clear();
    this.proxies.clear();
  }

  private agent(address: UpstreamAddress): Agent {
    const key = connectionKey(address);
    let agent = this.agents.get(key);
    if (!agent) {
      const options = { keepAlive: true, keepAliveMsecs: 30_000, maxFreeSockets: 256, scheduling: 'lifo', timeout: 60_000 } as const;
      // an https.Agent's own options win over the request's: http-proxy-3 cannot loosen them
      agent = address.kind === 'tcp' && address.tls ? new HttpsAgent({ ...options, ...tlsOptions(address.host, address.tls) }) : new Agent(options);
      this.agents.set(key, agent);
    }
    return agent;
  }
}

/**
 * The TLS client options for an https:// upstream. The server name is set even when it is the
 * upstream's own host: Node's https.Agent would otherwise take it from the request's Host header,
 * which is the client's site, not the upstream. '' (an IP address) sends no SNI, and the
 * certificate is then checked against the address.
 */
export function tlsOptions(host: string, tls: UpstreamTls): { servername: string; rejectUnauthorized: boolean; ca?: string } {
  const servername = tls.server_name ?? (isIP(host) === 0 ? host : '');
  return { servername, rejectUnauthorized: tls.verify, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) };
}

/**
 * undici's TLS connector with the server name fixed: undici would take it from each request's
 * Host header (the client's site) before the connect options. HTTP/1.1 only in ALPN, as for
 * plain upstreams.
 */
function tlsConnector(host: string, tls: UpstreamTls, timeout: number): UndiciBuildConnector.connector {
  const options = tlsOptions(host, tls);
  const connect = buildConnector({ ...options, timeout, allowH2: false });
  return (opts, callback) => connect({ ...opts, servername: options.servername }, callback);
}

/** Routes share connections to an address only when they would open them the same way. */
function connectionKey(address: UpstreamAddress): string {
  if (address.kind !== 'tcp' || !address.tls) return address.name;
  const { ca, server_name: name, verify } = address.tls;
  return `${address.name} ${name ?? ''} ${verify} ${ca === undefined ? '' : createHash('sha256').update(ca).digest('hex')}`;
}

export function forwardUpgrade(proxy: EdgeProxy, req: EdgeRequest, socket: Duplex, head: Buffer, onError: (err: Error) => void): void {
  proxy.ws(req as IncomingMessage, socket, head, onError);
}

/**
 * A WebSocket client may go before the upstream's 101; http-proxy-3 would then still open the
 * upstream side, with nothing left to pipe it to, and leave it open. After the 101 the request
 * is done (destroy does nothing) and http-proxy-3 closes the upstream side itself.
 */
function closeWithClient(proxyReq: ClientRequest, _req: IncomingMessage, socket: Duplex): void {
  socket.once('close', () => proxyReq.destroy());
}

function noop(): void {}
