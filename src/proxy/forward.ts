// The proxy action of a route: picks an upstream of its pool, sends the request there through
// http-proxy-3 and relays the answer, with edge's header rules, limits, timeouts and error pages.
// A failed attempt is retried on another upstream when the rules in retry.ts allow it; with
// nothing available the client gets 503 with Retry-After at once.

import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import type { Limits, ProxyConfig, Route } from '../config/schema.ts';
import type { Logger } from '../ops/log.ts';
import type { Action } from '../server/actions.ts';
import { completed, EdgeResponse, requestHost, type EdgeRequest, type EdgeRes } from '../server/response.ts';
import { rawStatus, sendStatus } from '../server/status.ts';
import { prepareRequestHeaders, responseHeaders } from './headers.ts';
import { classify, UpstreamTimeoutError } from './errors.ts';
import { BodyLimit, ClientAbortError, failOnAbort, watchBodyIdle } from './body.ts';
import type { Member, Pool } from './pool.ts';
import type { Pools } from './pools.ts';
import type { PickRequest } from './policies/policy.ts';
import { holdBody, replay, type HeldBody } from './replay.ts';
import { IDEMPOTENT, mayRetry } from './retry.ts';
import { resolvePool } from '../config/upstream-schema.ts';
import { createProxyServer, forwardRequest, forwardUpgrade, type AgentPool, type EdgeProxy } from './upstream.ts';

export interface ProxyContext {
  limits: Limits;
  logger: Logger;
  agents: AgentPool;
  pools: Pools;
}

interface Failure {
  status: number;
  reason: string;
  member: Member;
}

/** One client request's way through the pool; also what the balancing policy reads of it. */
interface Trip extends PickRequest {
  req: EdgeRequest;
  res: EdgeRes;
  body: HeldBody | undefined;
  tried: Member[];
  /** The upstream now serving it, until it answers in full or fails. */
  current: Member | undefined;
  /** Bumped per attempt, so a late error from an earlier attempt is ignored. */
  attempt: number;
  started: number;
  /** The response closed (answered, or the client went away): nothing more is sent upstream. */
  closed: boolean;
}

export class ProxyHandler implements Action {
  private readonly pool: Pool;
  /** One http-proxy-3 server per pool member (same index): this route's timeouts, its handlers. */
  private readonly servers: EdgeProxy[];
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
    this.pool = config.upstream !== undefined ? ctx.pools.shared(config.upstream) : ctx.pools.inline(route.match, poolOf(config));
    this.servers = this.pool.members.map((m) => {
      const server = createProxyServer(m.address, ctx.agents.get(m.address), config.timeouts);
      server.on('proxyReq', this.onProxyReq);
      server.on('proxyRes', (proxyRes: IncomingMessage, req: IncomingMessage, res: EdgeRes) => this.onProxyRes(m, proxyRes, req, res));
      return server;
    });
  }

  describe(): string {
    const names = this.pool.members.map((m) => m.name).join(', ');
    return this.pool.members.length === 1 ? `proxy → ${names}` : `proxy → ${this.pool.name} (${this.pool.config.balance.policy}): ${names}`;
  }

  handle(req: EdgeRequest, res: EdgeRes): void {
    const h = req.headers;
    const length = h['content-length'];
    const chunked = length === undefined && h['transfer-encoding'] !== undefined;
    let limiter: BodyLimit | undefined;
    const hasBody = (length !== undefined && length !== '0') || chunked;
    if (hasBody) {
      if (this.maxBody > 0 && length !== undefined && Number(length) > this.maxBody) {
        this.logger.warn(`413 ${req.method} ${req.url} on ${h.host}: body of ${length} bytes is over the ${this.maxBody}-byte limit (max_body_size)`, req);
        sendStatus(res, 413, { close: true });
        return;
      }
      if (this.maxBody > 0 && chunked) limiter = this.limitBody(req, res);
      if (this.bodyTimeout > 0) watchBodyIdle(req, this.bodyTimeout, () => this.bodyIdle(req, res));
      failOnAbort(req);
    }
    if (h.expect !== undefined && /^100-continue$/i.test(h.expect)) res.writeContinue();
    prepareRequestHeaders(req, false);
    const trip: Trip = { req, res, client: res.client, headers: h, body: undefined, tried: [], current: undefined, attempt: 0, started: Date.now(), closed: false };
    res.proxyTrip = trip;
    res.once('close', () => this.closed(trip));
    if (!hasBody) {
      this.dispatch(trip);
      return;
    }
    const source: Readable = limiter ?? (req as Readable);
    holdBody(source, length === undefined ? undefined : Number(length), this.pool.config.retry_body_limit, (body) => {
      trip.body = body;
      if (!trip.closed && !res.writableEnded && !res.destroyed) this.dispatch(trip);
    });
  }

  upgrade(req: EdgeRequest, socket: Duplex, head: Buffer, done: (status: number, upstream: string) => void): void {
    if (!this.websocket || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      socket.end(rawStatus(400));
      done(400, '');
      return;
    }
    prepareRequestHeaders(req, true);
    const member = this.pool.select({ client: clientOf(req), headers: req.headers });
    if (!member) {
      this.logger.error(`503 websocket ${req.url} on ${requestHost(req)}: no upstream of pool ${this.pool.name} is available (${this.pool.summary()})`, req);
      socket.end(rawStatus(503));
      done(503, '');
      return;
    }
    this.pool.begin(member);
    let ended = false;
    const end = () => {
      if (!ended) this.pool.end(member);
      ended = true;
    };
    forwardUpgrade(this.servers[member.index]!, req, socket, head, (err: Error) => {
      const failure = classify(err as NodeJS.ErrnoException);
      this.logger.error(`websocket ${req.url} on ${requestHost(req)}: upstream ${member.name} ${failure.reason}`, req);
      this.pool.fail(member, failure.reason);
      // before the 101 went out the client can still be told why
      if (socket.writable && (socket as { bytesWritten?: number }).bytesWritten === 0) socket.write(rawStatus(failure.status));
      end();
      done(failure.status, member.name);
    });
    socket.once('close', () => {
      end();
      done(101, member.name);
    });
  }

  /** Sends the request to the next upstream the pool offers (or `member`, already picked); after a failure, if there is one. */
  private dispatch(trip: Trip, failure?: Failure, member = this.pool.select(trip, trip.tried)): void {
    const { req, res } = trip;
    if (!member) {
      if (failure) this.give(trip, failure);
      else this.unavailable(trip);
      return;
    }
    if (failure) this.logger.warn(`${req.method} ${req.url} on ${requestHost(req)}: upstream ${failure.member.name} ${failure.reason}; retrying on ${member.name}`, req);
    trip.tried.push(member);
    trip.current = member;
    const attempt = ++trip.attempt;
    this.pool.begin(member);
    res.upstream = member.name;
    const body = trip.body === undefined ? undefined : 'chunks' in trip.body ? replay(trip.body) : trip.body.stream;
    // after a stale pooled connection, a new one: the pool may hold more the upstream has closed
    forwardRequest(this.servers[member.index]!, req, res, (err) => this.failed(trip, member, attempt, err as NodeJS.ErrnoException), body, res.retried);
  }

  private unavailable(trip: Trip): void {
    const { req, res } = trip;
    const after = this.pool.retryAfter();
    this.logger.error(`503 ${req.method} ${req.url} on ${requestHost(req)}: no upstream of pool ${this.pool.name} is available (${this.pool.summary()}); Retry-After ${after}`, req);
    sendStatus(res, 503, { headers: { 'retry-after': String(after) } });
  }

  /**
   * The client's side is over. http-proxy-3 cuts the upstream request of an HTTP/1.1 response
   * that closes unfinished, but an HTTP/2 one calls itself finished even when its stream was
   * reset: cut it here, so the upstream sees the abort at once (never the body's end).
   */
  private closed(trip: Trip): void {
    trip.closed = true;
    if (!completed(trip.res)) trip.res.upstreamRequest?.destroy();
    this.release(trip);
  }

  private release(trip: Trip): void {
    if (trip.current) this.pool.end(trip.current);
    trip.current = undefined;
  }

  private failed(trip: Trip, member: Member, attempt: number, err: NodeJS.ErrnoException): void {
    // an earlier attempt's listener on the client request, or the request is over
    if (attempt !== trip.attempt || trip.current !== member) return;
    this.release(trip);
    const { res } = trip;
    // the client's abort is no fault of the upstream's
    if (trip.closed || res.writableEnded || res.destroyed || err instanceof ClientAbortError) {
      res.upstreamRequest?.destroy();
      return;
    }
    if (this.staleConnection(err, trip)) {
      // the upstream closed an idle connection as edge reused it: not its failure, try it again
      res.retried = true;
      trip.tried.pop();
      this.dispatch(trip);
      return;
    }
    const { status, reason } = classify(err);
    this.pool.fail(member, reason);
    const failure = { status, reason, member };
    if (this.retry(trip, err.code)) this.dispatch(trip, failure);
    else this.give(trip, failure);
  }

  /** The last attempt's failure goes to the client. */
  private give(trip: Trip, { status, reason, member }: Failure): void {
    const { req, res } = trip;
    const tries = trip.tried.length > 1 ? ` (after ${trip.tried.length} attempts)` : '';
    this.logger.error(`${status} ${req.method} ${req.url} on ${requestHost(req)}: upstream ${member.name} ${reason}${tries}`, req);
    sendStatus(res, status);
  }

  private retry(trip: Trip, code: string | undefined): boolean {
    const config = this.pool.config;
    return mayRetry({
      method: trip.req.method!,
      code,
      replayable: trip.body === undefined || 'chunks' in trip.body,
      headersSent: trip.res.headersSent,
      retried: trip.tried.length - 1,
      retries: config.retries,
      elapsed: Date.now() - trip.started,
      tryDuration: config.try_duration,
    });
  }

  /**
   * A kept-alive connection the upstream closed just as edge reused it: safe to send again once
   * when the request is idempotent and its body can be replayed (RFC 9112 9.3.1).
   */
  private staleConnection(err: NodeJS.ErrnoException, trip: Trip): boolean {
    const { req, res } = trip;
    return !res.retried && !res.headersSent && res.upstreamRequest?.reusedSocket === true
      && (err.code === 'ECONNRESET' || err.code === 'EPIPE')
      && IDEMPOTENT.has(req.method!) && (trip.body === undefined || 'chunks' in trip.body);
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
    // the client went away while this request waited for its connection
    if ((res.proxyTrip as Trip | undefined)?.closed) {
      proxyReq.destroy();
      return;
    }
    if (this.readTimeout > 0) proxyReq.setTimeout(this.readTimeout, onReadTimeout);
  };

  private onProxyRes(member: Member, proxyRes: IncomingMessage, req: IncomingMessage, res: EdgeRes): void {
    const trip = res.proxyTrip as Trip | undefined;
    if (res.writableEnded || trip?.current !== member) {
      proxyRes.resume();
      return;
    }
    const status = proxyRes.statusCode!;
    if (this.pool.config.fail_status.includes(status)) {
      this.pool.fail(member, `answered ${status}`);
      // picked once: a pick moves the policy's state (round robin's turn, least_conn's start)
      const next = this.retry(trip, undefined) ? this.pool.select(trip, trip.tried) : undefined;
      if (next) {
        proxyRes.resume();
        this.release(trip);
        this.dispatch(trip, { status, reason: `answered ${status}`, member }, next);
        return;
      }
    }
    const headers = responseHeaders(proxyRes.rawHeaders);
    // HTTP/2 has no reason phrase
    if (res instanceof EdgeResponse) res.writeHead(status, proxyRes.statusMessage, headers);
    else res.writeHead(status, headers);
    // the access log's byte count: the declared length when there is one, else counted as it flows
    const length = proxyRes.headers['content-length'];
    if (length !== undefined && req.method !== 'HEAD') res.bodyBytes = Number(length);
    else if (length === undefined) proxyRes.on('data', (chunk: Buffer) => (res.bodyBytes += chunk.length));
    // an upstream that dies mid-body must not leave the client waiting: cut its response too
    proxyRes.on('error', (err) => {
      if (!res.destroyed) {
        this.logger.error(`upstream ${res.upstream} broke off its response to ${req.method} ${req.url} on ${requestHost(req)}: ${err.message}`, req);
        this.pool.fail(member, `broke off a response: ${err.message}`);
        res.destroy();
      }
    });
    proxyRes.pipe(res);
  }
}

function clientOf(req: EdgeRequest): string {
  return req.socket?.remoteAddress ?? '';
}

/** A route's inline pool: its `to` and settings, defaults filled in. */
function poolOf(config: ProxyConfig) {
  return resolvePool({ ...config, to: config.to! });
}

function onReadTimeout(this: ClientRequest): void {
  this.destroy(new UpstreamTimeoutError(this.socket?.timeout ?? 0));
}
