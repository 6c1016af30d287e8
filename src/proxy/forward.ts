// The proxy action of a route: sends the request to one of its upstreams through http-proxy-3 and
// relays the answer, with edge's header rules, limits, timeouts and error pages.

import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Limits, ProxyConfig, Route } from '../config/schema.ts';
import type { Logger } from '../ops/log.ts';
import type { Action } from '../server/actions.ts';
import { EdgeResponse, requestHost, type EdgeRequest, type EdgeRes } from '../server/response.ts';
import { rawStatus, sendStatus } from '../server/status.ts';
import { prepareRequestHeaders, responseHeaders } from './headers.ts';
import { classify, UpstreamTimeoutError } from './errors.ts';
import { BodyLimit, watchBodyIdle } from './body.ts';
import { createProxyServer, forwardRequest, forwardUpgrade, type AgentPool, type EdgeProxy } from './upstream.ts';

export interface ProxyContext {
  limits: Limits;
  logger: Logger;
  agents: AgentPool;
}

interface UpstreamEntry {
  name: string;
  server: EdgeProxy;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

export class ProxyHandler implements Action {
  private readonly upstreams: UpstreamEntry[];
  private next = 0;
  private readonly maxBody: number;
  private readonly bodyTimeout: number;
  private readonly readTimeout: number;
  private readonly websocket: boolean;
  private readonly logger: Logger;

  constructor(route: Route, config: ProxyConfig, ctx: ProxyContext) {
    this.maxBody = route.max_body_size ?? ctx.limits.max_body_size;
    this.bodyTimeout = ctx.limits.body_timeout;
    this.readTimeout = config.timeouts.read;
    this.websocket = config.websocket;
    this.logger = ctx.logger;
    this.upstreams = config.to.map((address) => {
      const server = createProxyServer(address, ctx.agents.get(address), config.timeouts);
      server.on('proxyReq', this.onProxyReq);
      server.on('proxyRes', this.onProxyRes);
      server.on('error', this.onError);
      return { name: address.name, server };
    });
  }

  describe(): string {
    return `proxy → ${this.upstreams.map((u) => u.name).join(', ')}`;
  }

  handle(req: EdgeRequest, res: EdgeRes): void {
    const h = req.headers;
    const length = h['content-length'];
    const chunked = length === undefined && h['transfer-encoding'] !== undefined;
    let limiter: BodyLimit | undefined;
    if (length !== undefined || chunked) {
      if (this.maxBody > 0 && length !== undefined && Number(length) > this.maxBody) {
        this.logger.warn(`413 ${req.method} ${req.url} on ${h.host}: body of ${length} bytes is over the ${this.maxBody}-byte limit (max_body_size)`, req);
        sendStatus(res, 413, { close: true });
        return;
      }
      if (this.maxBody > 0 && chunked) limiter = this.limitBody(req, res);
      if (this.bodyTimeout > 0 && length !== '0') watchBodyIdle(req, this.bodyTimeout, () => this.bodyIdle(req, res));
    }
    if (h.expect !== undefined && /^100-continue$/i.test(h.expect)) res.writeContinue();
    prepareRequestHeaders(req, false);
    const upstream = this.pick();
    res.upstream = upstream.name;
    forwardRequest(upstream.server, req, res, this.onError, limiter);
  }

  upgrade(req: EdgeRequest, socket: Duplex, head: Buffer, done: (status: number, upstream: string) => void): void {
    if (!this.websocket || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      socket.end(rawStatus(400));
      done(400, '');
      return;
    }
    prepareRequestHeaders(req, true);
    const upstream = this.pick();
    forwardUpgrade(upstream.server, req, socket, head, (err: Error) => {
      const failure = classify(err as NodeJS.ErrnoException);
      this.logger.error(`websocket ${req.url} on ${requestHost(req)}: upstream ${upstream.name} ${failure.reason}`, req);
      // before the 101 went out the client can still be told why
      if (socket.writable && (socket as { bytesWritten?: number }).bytesWritten === 0) socket.write(rawStatus(failure.status));
      done(failure.status, upstream.name);
    });
    socket.once('close', () => done(101, upstream.name));
  }

  private pick(): UpstreamEntry {
    const list = this.upstreams;
    if (list.length === 1) return list[0]!;
    const u = list[this.next]!;
    this.next = (this.next + 1) % list.length;
    return u;
  }

  private limitBody(req: EdgeRequest, res: EdgeRes): BodyLimit {
    const limiter = new BodyLimit(this.maxBody);
    limiter.on('error', (err) => {
      this.logger.warn(`413 ${req.method} ${req.url} on ${requestHost(req)}: ${err.message} (max_body_size)`, req);
      res.upstreamRequest?.destroy();
      sendStatus(res, 413, { close: true });
      req.destroy();
    });
    req.pipe(limiter);
    return limiter;
  }

  private bodyIdle(req: EdgeRequest, res: EdgeRes): void {
    this.logger.warn(`408 ${req.method} ${req.url} on ${requestHost(req)}: client sent no body data for ${this.bodyTimeout} ms (body_timeout)`, req);
    res.upstreamRequest?.destroy();
    sendStatus(res, 408, { close: true });
    req.socket.destroySoon();
  }

  private readonly onProxyReq = (proxyReq: ClientRequest, _req: IncomingMessage, res: EdgeRes): void => {
    res.upstreamRequest = proxyReq;
    if (this.readTimeout > 0) proxyReq.setTimeout(this.readTimeout, onReadTimeout);
  };

  private readonly onProxyRes = (proxyRes: IncomingMessage, req: IncomingMessage, res: EdgeRes): void => {
    if (res.writableEnded) {
      proxyRes.resume();
      return;
    }
    const headers = responseHeaders(proxyRes.rawHeaders);
    // HTTP/2 has no reason phrase
    if (res instanceof EdgeResponse) res.writeHead(proxyRes.statusCode!, proxyRes.statusMessage, headers);
    else res.writeHead(proxyRes.statusCode!, headers);
    // the access log's byte count: the declared length when there is one, else counted as it flows
    const length = proxyRes.headers['content-length'];
    if (length !== undefined && req.method !== 'HEAD') res.bodyBytes = Number(length);
    else if (length === undefined) proxyRes.on('data', (chunk: Buffer) => (res.bodyBytes += chunk.length));
    // an upstream that dies mid-body must not leave the client waiting: cut its response too
    proxyRes.on('error', (err) => {
      if (!res.destroyed) {
        this.logger.error(`upstream ${res.upstream} broke off its response to ${req.method} ${req.url} on ${requestHost(req)}: ${err.message}`, req);
        res.destroy();
      }
    });
    proxyRes.pipe(res);
  };

  private readonly onError = (err: Error, req: IncomingMessage, res: EdgeRes | Duplex): void => {
    if (!('writeHead' in res) || res.writableEnded) return;
    const e = err as NodeJS.ErrnoException;
    if (this.staleConnection(e, req, res)) {
      res.retried = true;
      const upstream = this.upstreams.find((u) => u.name === res.upstream) ?? this.pick();
      forwardRequest(upstream.server, req, res, this.onError);
      return;
    }
    const failure = classify(e);
    this.logger.error(`${failure.status} ${req.method} ${req.url} on ${requestHost(req)}: upstream ${res.upstream} ${failure.reason}`, req);
    sendStatus(res, failure.status);
  };

  /**
   * A kept-alive connection the upstream closed just as edge reused it: safe to send again once
   * when the request is idempotent and has no body (RFC 9112 9.3.1).
   */
  private staleConnection(err: NodeJS.ErrnoException, req: IncomingMessage, res: EdgeRes): boolean {
    return !res.retried && !res.headersSent && res.upstreamRequest?.reusedSocket === true
      && (err.code === 'ECONNRESET' || err.code === 'EPIPE')
      && IDEMPOTENT.has(req.method!) && req.readableEnded
      && (req.headers['content-length'] === undefined || req.headers['content-length'] === '0')
      && req.headers['transfer-encoding'] === undefined;
  }
}

function onReadTimeout(this: ClientRequest): void {
  this.destroy(new UpstreamTimeoutError(this.socket?.timeout ?? 0));
}
