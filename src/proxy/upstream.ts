// One upstream server: its address, its keep-alive connection pool and the http-proxy-3 instance
// that speaks to it. Agents are shared by every route that names the same address.

import { Agent, IncomingMessage } from 'node:http';
import { ProxyServer } from 'http-proxy-3';
import type { UpstreamAddress } from '../config/address.ts';
import type { Duplex, Readable } from 'node:stream';
import type { EdgeRequest, EdgeRes, EdgeResponse } from '../server/response.ts';

export type EdgeProxy = ProxyServer<typeof IncomingMessage, typeof EdgeResponse>;

export interface ProxyTarget {
  host: string;
  port: number;
  protocol: 'http:';
  socketPath?: string;
}

function targetOf(address: UpstreamAddress): ProxyTarget {
  // with socketPath set, host and port only name the connection pool; the socket is what connects
  return address.kind === 'unix'
    ? { host: 'localhost', port: 80, protocol: 'http:', socketPath: address.path }
    : { host: address.host, port: address.port, protocol: 'http:' };
}

/** Keep-alive pools, one per upstream address, closed together when a config is retired. */
export class AgentPool {
  private readonly agents = new Map<string, Agent>();

  get(address: UpstreamAddress): Agent {
    let agent = this.agents.get(address.name);
    if (!agent) {
      // lifo keeps the busiest sockets warm and lets the rest idle out
      agent = new Agent({ keepAlive: true, keepAliveMsecs: 30_000, maxFreeSockets: 256, scheduling: 'lifo', timeout: 60_000 });
      this.agents.set(address.name, agent);
    }
    return agent;
  }

  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

export interface Timeouts {
  connect: number;
  read: number;
}

export type ProxyErrorHandler = (err: Error, req: IncomingMessage, res: EdgeRes | Duplex) => void;

/**
 * `onError` takes the errors http-proxy-3 emits on the proxy object instead of a request's
 * callback: a WebSocket client's socket errors, re-emitted there for as long as the connection
 * lives. Without a listener EventEmitter throws them, and one client's reset stopped edge.
 */
export function createProxyServer(address: UpstreamAddress, agent: Agent, timeouts: Timeouts, onError: ProxyErrorHandler): EdgeProxy {
  const proxy = new ProxyServer<typeof IncomingMessage, typeof EdgeResponse>({
    target: targetOf(address),
    agent,
    // edge writes the response itself (hop-by-hop filtering, byte counts) and sets X-Forwarded-*
    selfHandleResponse: true,
    xfwd: false,
    // send the request target exactly as the client did, without re-parsing it per request
    toProxy: true,
    prependPath: false,
    ...(timeouts.connect > 0 ? { connectTimeout: timeouts.connect } : {}),
  });
  proxy.on('error', onError);
  return proxy;
}

// http-proxy-3 is typed for HTTP/1.1 objects but takes HTTP/2 compatibility ones as well (it drops
// the pseudo-headers itself), so both kinds pass through these two casts.

/** `fresh` sends it over a new connection rather than a pooled one (after a stale pooled one failed). */
export function forwardRequest(proxy: EdgeProxy, req: EdgeRequest, res: EdgeRes, onError: ProxyErrorHandler, body?: Readable, fresh = false): void {
  const request = req as IncomingMessage;
  const response = res as unknown as EdgeResponse;
  if (body || fresh) proxy.web(request, response, { ...(body ? { buffer: body } : {}), ...(fresh ? { agent: false } : {}) }, onError);
  else proxy.web(request, response, onError);
}

export function forwardUpgrade(proxy: EdgeProxy, req: EdgeRequest, socket: Duplex, head: Buffer, onError: (err: Error) => void): void {
  proxy.ws(req as IncomingMessage, socket, head, onError);
}
