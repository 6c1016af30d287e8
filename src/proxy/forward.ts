// The proxy action of a route: picks an upstream of its pool, sends the request there through
// undici (one attempt at a time, see attempt.ts) and relays the answer, with edge's header rules,
// limits, timeouts and error pages. A failed attempt is retried on another upstream when the
// rules in retry.ts allow it; with nothing available the client gets 503 with Retry-After at once.
// With request buffering (the default) the whole body is received first (request-buffer.ts), so
// a slow client never holds an upstream worker and every attempt can send it again.
// The cache's own requests (no body, no client of their own) come through fetch(): the same
// trips, with a RequestView and a ResponseSink instead of a client's request and response.
// WebSocket upgrades go through http-proxy-3.

import type { IncomingHttpHeaders } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import type { Limits, ProxyConfig, Route } from '../config/schema.ts';
import { requestClient } from '../http/client-address.ts';
import type { FetchHandle, Fetcher, RequestView } from '../http/request.ts';
import type { ResponseSink } from '../http/sink.ts';
import { writeStatusPage } from '../http/status-page.ts';
import type { Logger } from '../ops/log.ts';
import { reportFileLimit } from '../ops/open-files.ts';
import type { Action } from '../server/actions.ts';
import { requestHost, type EdgeRequest, type EdgeRes } from '../server/response.ts';
import { rawStatus, sendStatus } from '../server/status.ts';
import { prepareHeaders, prepareRequestHeaders, upstreamRequestHeaders } from './headers.ts';
import { classify, upstreamError } from './errors.ts';
import { BodyLimit, failOnAbort, leaveOnClientEnd, watchBodyIdle } from './body.ts';
import type { Member, Pool } from './pool.ts';
import type { Pools } from './pools.ts';
import type { PickRequest } from './policies/policy.ts';
import { holdBody, type HeldBody } from './replay.ts';
import { IDEMPOTENT, mayRetry } from './retry.ts';
import { resolvePool } from '../config/runtime.ts';
import { Attempt, type AttemptOwner, type ResponseBuffering } from './attempt.ts';
import { readBody, type RequestSpool, type SpooledBody, type TempFiles } from './spool.ts';
import { bufferBody, REQUEST_MEMORY } from './request-buffer.ts';
import { forwardUpgrade, type Upstreams } from './upstream.ts';

export interface ProxyContext {
  limits: Limits;
  logger: Logger;
  upstreams: Upstreams;
  pools: Pools;
  /** The temp folder for buffered bodies, and how much of a response it may hold. */
  temp: TempFiles;
  maxTempFileSize: number;
}

interface Failure {
  status: number;
  reason: string;
  member: Member;
}

/** What a trip reads of its request: a client's, or the view of a cache's own request. */
interface TripRequest {
  readonly method?: string;
  readonly url?: string;
  readonly headers: IncomingHttpHeaders;
  readonly httpVersionMajor?: number;
}

/** A cache's own request through the proxy, as the cache sees it. */
class ProxyFetch implements FetchHandle {
  upstream = '';
  bodyBytes = 0;
  readonly abort: () => void;

  constructor(abort: () => void) {
    this.abort = abort;
  }
}

/** One request's way through the pool; also what the balancing policy reads of it. */
interface Trip extends PickRequest {
  req: TripRequest;
  /** The client's response; undefined for a cache's own request, which has `fetch` instead. */
  res: EdgeRes | undefined;
  fetch: ProxyFetch | undefined;
  /** Where the answer goes: `res`, or the wrappers of the route ending there (or the cache's fetch). */
  out: ResponseSink;
  /** The attempt whose head went to `out`: cut when the trip closes (its response buffer freed). */
  relaying: Attempt | undefined;
  body: HeldBody | undefined;
  /** The held body as one Buffer, made once for every attempt that sends it. */
  whole: Buffer | undefined;
  /** With request buffering: the body being received, then all of it. */
  spool: RequestSpool | undefined;
  spooled: SpooledBody | undefined;
  tried: Member[];
  /** The upstream now serving it, until it answers in full or fails. */
  current: Member | undefined;
  /** The attempt under way on `current`; one from before a retry is ignored. */
  attempt: Attempt | undefined;
  started: number;
  /** Set once a request has been sent again after a stale keep-alive connection failed it. */
  resent: boolean;
  /** The response closed (answered, or the client went away): nothing more is sent upstream. */
  closed: boolean;
}

export class ProxyHandler implements Action, AttemptOwner, Fetcher {
  private readonly pool: Pool;
  private readonly upstreams: Upstreams;
  private readonly maxBody: number;
  private readonly bodyTimeout: number;
  private readonly readTimeout: number;
  private readonly connectTimeout: number;
  private readonly websocket: boolean;
  private readonly logger: Logger;
  private readonly bufferRequests: boolean;
  private readonly temp: TempFiles;
  private readonly responseBuffering: ResponseBuffering | undefined;

  constructor(route: Route, config: ProxyConfig, ctx: ProxyContext) {
    this.bufferRequests = config.buffering.request;
    this.temp = ctx.temp;
    this.responseBuffering = config.buffering.response ? { temp: ctx.temp, maxFile: ctx.maxTempFileSize, logger: ctx.logger } : undefined;
    this.maxBody = route.max_body_size ?? ctx.limits.max_body_size;
    this.bodyTimeout = ctx.limits.body_timeout;
    this.readTimeout = config.timeouts.read;
    this.connectTimeout = config.timeouts.connect;
    this.websocket = config.websocket;
    this.logger = ctx.logger;
    this.upstreams = ctx.upstreams;
    this.pool = config.upstream !== undefined ? ctx.pools.shared(config.upstream) : ctx.pools.inline(route.match, poolOf(config));
  }

  describe(): string {
    const names = this.pool.members.map((m) => m.name).join(', ');
    return this.pool.members.length === 1 ? `proxy → ${names}` : `proxy → ${this.pool.name} (${this.pool.config.balance.policy}): ${names}`;
  }

  handle(req: EdgeRequest, res: EdgeRes, out: ResponseSink): void {
    const h = req.headers;
    const length = h['content-length'];
    // a body of unknown length: chunked over HTTP/1.1; over HTTP/2, any stream the headers did not end
    const chunked = length === undefined && (req.httpVersionMajor === 2 ? !(req as Http2ServerRequest).stream.endAfterHeaders : h['transfer-encoding'] !== undefined);
    const hasBody = (length !== undefined && length !== '0') || chunked;
    if (hasBody && this.maxBody > 0 && length !== undefined && Number(length) > this.maxBody) {
      this.logger.warn(`413 ${req.method} ${req.url} on ${requestHost(req)}: body of ${length} bytes is over the ${this.maxBody}-byte limit (max_body_size / --max-body-size)`, req);
      sendStatus(res, 413, { close: true }, out);
      return;
    }
    const trip = newTrip(req, res, undefined, out, res.client);
    // answered, or the client went away: nothing more goes upstream (an attempt under way stops)
    res.once('close', () => this.close(trip));
    leaveOnClientEnd(req, res);
    let limiter: BodyLimit | undefined;
    if (hasBody) {
      res.cancelUpstream = () => this.release(trip);
      if (this.maxBody > 0 && chunked) limiter = this.limitBody(trip);
      if (this.bodyTimeout > 0) watchBodyIdle(req, this.bodyTimeout, () => this.bodyIdle(trip));
      failOnAbort(req);
    }
    if (h.expect !== undefined && /^100-continue$/i.test(h.expect)) res.writeContinue();
    prepareRequestHeaders(req, false);
    if (!hasBody) {
      this.dispatch(trip);
      return;
    }
    const source: Readable = limiter ?? (req as Readable);
    if (this.bufferRequests) {
      trip.spool = bufferBody(source, this.temp, (err) => this.spoolFailed(trip, err), (body) => {
        trip.spooled = body;
        // the client's framing is gone: the upstream gets the body whole, with its length
        h['content-length'] = String(body.length);
        if (!trip.closed && !res.writableEnded && !res.destroyed) this.dispatch(trip);
      });
      return;
    }
    holdBody(source, length === undefined ? undefined : Number(length), REQUEST_MEMORY, (body) => {
      trip.body = body;
      if (!trip.closed && !res.writableEnded && !res.destroyed) this.dispatch(trip);
    });
  }

  fetch(req: RequestView, out: ResponseSink): FetchHandle {
    const trip = newTrip(req, undefined, undefined, out, req.client);
    const handle = (trip.fetch = new ProxyFetch(() => this.close(trip)));
    prepareHeaders(req.headers, req.client, req.scheme === 'https', false);
    this.dispatch(trip);
    return handle;
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
    const failed = (err: Error) => {
      // the client went first (its failure is logged where http-proxy-3 reports it, the close
      // below logs the request): the upstream side fails as edge closes it, not the upstream's doing
      if (socket.destroyed) return;
      const failure = classify(err as NodeJS.ErrnoException);
      this.logger.error(`websocket ${req.url} on ${requestHost(req)}: upstream ${member.name} ${failure.reason}`, req);
      this.pool.fail(member, failure.reason);
      // before the 101 went out the client can still be told why
      if (socket.writable && (socket as { bytesWritten?: number }).bytesWritten === 0) socket.write(rawStatus(failure.status));
      end();
      done(failure.status, member.name);
    };
    socket.once('close', () => {
      end();
      // nothing written yet: the client left before the upstream's 101 could reach it
      done((socket as { bytesWritten?: number }).bytesWritten === 0 ? 499 : 101, member.name);
    });
    this.upstreams.upgrader(member.address, this.connectTimeout).then((proxy) => {
      if (!socket.destroyed) forwardUpgrade(proxy, req, socket, head, failed);
    }, failed);
  }

  /** Sends the request to the next upstream the pool offers (or `member`, already picked); after a failure, if there is one. */
  private dispatch(trip: Trip, failure?: Failure, member = this.pool.select(trip, trip.tried)): void {
    const { req } = trip;
    if (!member) {
      if (failure) this.give(trip, failure);
      else this.unavailable(trip);
      return;
    }
    if (failure) this.logger.warn(`${req.method} ${req.url} on ${requestHost(req)}: upstream ${failure.member.name} ${failure.reason}; retrying on ${member.name}`, req);
    trip.tried.push(member);
    trip.current = member;
    this.pool.begin(member);
    const exchange = trip.res ?? trip.fetch!;
    exchange.upstream = member.name;
    const attempt = new Attempt(this, exchange, trip.out, req.method!, trip, this.responseBuffering);
    trip.attempt = attempt;
    this.upstreams.pool(member.address, this.connectTimeout).dispatch({
      path: req.url!,
      method: req.method!,
      headers: upstreamRequestHeaders(req),
      body: bodyOf(trip),
      headersTimeout: this.readTimeout,
      bodyTimeout: this.readTimeout,
    }, attempt);
  }

  onHead(attempt: Attempt, status: number): boolean {
    const trip = attempt.tag as Trip;
    if (trip.attempt !== attempt || ended(trip)) return false;
    if (!this.pool.config.fail_status.includes(status)) return relay(trip, attempt);
    const member = trip.current!;
    this.pool.fail(member, `answered ${status}`);
    // picked once: a pick moves the policy's state (round robin's turn, least_conn's start)
    const next = this.retry(trip, undefined) ? this.pool.select(trip, trip.tried) : undefined;
    if (!next) return relay(trip, attempt);
    this.release(trip);
    this.dispatch(trip, { status, reason: `answered ${status}`, member }, next);
    return false;
  }

  onFinished(attempt: Attempt): void {
    const trip = attempt.tag as Trip;
    if (trip.attempt === attempt) this.release(trip);
  }

  onFailed(attempt: Attempt, cause: Error, relayed: boolean): void {
    const trip = attempt.tag as Trip;
    if (trip.attempt !== attempt) return;
    const member = trip.current!;
    const { req } = trip;
    this.release(trip);
    if (ended(trip)) return;
    // the client's own body broke off (it reset, its HTTP/2 stream was cancelled: failOnAbort, or it
    // sent less than its Content-Length): not the upstream's doing
    const body = req as EdgeRequest as Readable;
    if (trip.res !== undefined && (body.readableAborted || body.errored)) {
      trip.out.onError();
      return;
    }
    const err = upstreamError(cause as NodeJS.ErrnoException, this.readTimeout);
    if (relayed) {
      // an upstream that dies mid-body must not leave the client waiting: cut its response too
      this.logger.error(`upstream ${member.name} broke off its response to ${req.method} ${req.url} on ${requestHost(req)}: ${err.message}`, req);
      this.pool.fail(member, `broke off a response: ${err.message}`);
      trip.out.onError();
      return;
    }
    if (this.staleConnection(err, trip)) {
      // the upstream closed an idle connection as edge reused it: not its failure, try it again
      trip.resent = true;
      trip.tried.pop();
      this.dispatch(trip, undefined, member);
      return;
    }
    const { status, reason } = classify(err);
    // edge out of file descriptors is no failure of the upstream's
    if (!reportFileLimit(err, this.logger, `connect to upstream ${member.name} failed`)) this.pool.fail(member, reason);
    const failure = { status, reason, member };
    if (this.retry(trip, err.code)) this.dispatch(trip, failure);
    else this.give(trip, failure);
  }

  private unavailable(trip: Trip): void {
    const { req } = trip;
    const after = this.pool.retryAfter();
    this.logger.error(`503 ${req.method} ${req.url} on ${requestHost(req)}: no upstream of pool ${this.pool.name} is available (${this.pool.summary()}); Retry-After ${after}`, req);
    page(trip, 503, { 'retry-after': String(after) });
  }

  /** Nothing more is sent for the trip: answered, its client gone, or the cache's fetch aborted. */
  private close(trip: Trip): void {
    if (trip.closed) return;
    trip.closed = true;
    this.release(trip);
    trip.spool?.release();
    trip.relaying?.cut();
  }

  /** The trip's upstream is free again; an attempt still under way (the client left) is stopped. */
  private release(trip: Trip): void {
    if (trip.current) this.pool.end(trip.current);
    trip.current = undefined;
    const attempt = trip.attempt;
    trip.attempt = undefined;
    attempt?.abandon();
  }

  /** The last attempt's failure goes to the client. */
  private give(trip: Trip, { status, reason, member }: Failure): void {
    const { req } = trip;
    const tries = trip.tried.length > 1 ? ` (after ${trip.tried.length} attempts)` : '';
    this.logger.error(`${status} ${req.method} ${req.url} on ${requestHost(req)}: upstream ${member.name} ${reason}${tries}`, req);
    page(trip, status);
  }

  private retry(trip: Trip, code: string | undefined): boolean {
    const config = this.pool.config;
    return mayRetry({
      method: trip.req.method!,
      code,
      replayable: replayable(trip),
      headersSent: trip.res !== undefined ? trip.res.headersSent : trip.relaying !== undefined,
      retried: trip.tried.length - 1,
      retries: config.retries,
      elapsed: Date.now() - trip.started,
      tryDuration: config.try_duration,
    });
  }

  /**
   * A kept-alive connection the upstream closed just as edge reused it: safe to send again once,
   * before the upstream answered, when the request is idempotent and its body can be replayed
   * (RFC 9112 9.3.1). undici does not say whether the connection was a reused one, so a first
   * reset of such a request is taken for this; a second one counts as the upstream's failure.
   */
  private staleConnection(err: NodeJS.ErrnoException, trip: Trip): boolean {
    return !trip.resent && (err.code === 'ECONNRESET' || err.code === 'EPIPE')
      && IDEMPOTENT.has(trip.req.method!) && replayable(trip);
  }

  private limitBody(trip: Trip): BodyLimit {
    const req = trip.req as EdgeRequest;
    const res = trip.res!;
    const limiter = new BodyLimit(this.maxBody);
    limiter.on('error', (err) => {
      this.logger.warn(`413 ${req.method} ${req.url} on ${requestHost(req)}: ${err.message} (max_body_size / --max-body-size)`, req);
      this.release(trip);
      sendStatus(res, 413, { close: true }, trip.out);
      req.destroy();
    });
    req.pipe(limiter);
    return limiter;
  }

  /** The temp folder failed the body (full, not writable): the upstream never sees the request. */
  private spoolFailed(trip: Trip, err: Error): void {
    const req = trip.req as EdgeRequest;
    const res = trip.res!;
    trip.spool?.release();
    if (trip.closed || res.headersSent || res.destroyed) return;
    this.logger.error(`507 ${req.method} ${req.url} on ${requestHost(req)}: the request body could not be buffered: ${err.message}`, req);
    sendStatus(res, 507, { close: true }, trip.out);
    if (req.httpVersionMajor === 2) res.once('finish', () => (req as Http2ServerRequest).stream.close());
    else req.socket.destroySoon();
  }

  private bodyIdle(trip: Trip): void {
    const req = trip.req as EdgeRequest;
    const res = trip.res!;
    this.logger.warn(`408 ${req.method} ${req.url} on ${requestHost(req)}: client sent no body data for ${this.bodyTimeout} ms (body_timeout)`, req);
    this.release(trip);
    sendStatus(res, 408, { close: true }, trip.out);
    // over HTTP/2 only this stream stops (the socket is the session's, other streams go on)
    if (req.httpVersionMajor === 2) res.once('finish', () => (req as Http2ServerRequest).stream.close());
    else req.socket.destroySoon();
  }
}

function newTrip(req: TripRequest, res: EdgeRes | undefined, fetch: ProxyFetch | undefined, out: ResponseSink, client: string): Trip {
  return { req, res, fetch, out, relaying: undefined, client, headers: req.headers, body: undefined, whole: undefined, spool: undefined, spooled: undefined, tried: [], current: undefined, attempt: undefined, started: Date.now(), resent: false, closed: false };
}

/** Whether the trip's answer is over or unwanted: nothing more is written for it. */
function ended(trip: Trip): boolean {
  const res = trip.res;
  return res === undefined ? trip.closed : res.writableEnded || res.destroyed;
}

function relay(trip: Trip, attempt: Attempt): true {
  trip.relaying = attempt;
  return true;
}

/** Edge's own page for the trip's answer (a client's request, or the cache's fetch, a GET). */
function page(trip: Trip, status: number, headers?: Record<string, string>): void {
  if (trip.res !== undefined) sendStatus(trip.res, status, { headers }, trip.out);
  else writeStatusPage(trip.out, status, false, headers);
}

/** What the attempt sends: nothing, the held body (one Buffer for every attempt), or the stream. */
function bodyOf(trip: Trip): Buffer | Readable | null {
  if (trip.spooled) return readBody(trip.spooled);
  const body = trip.body;
  if (body === undefined) return null;
  if ('stream' in body) return body.stream;
  return (trip.whole ??= Buffer.concat(body.chunks));
}

/** Whether the body (if any) can be sent again: buffered whole, in memory or a temp file. */
function replayable(trip: Trip): boolean {
  if (trip.spooled !== undefined) return true;
  if (trip.spool !== undefined) return false;
  return trip.body === undefined || 'chunks' in trip.body;
}

function clientOf(req: EdgeRequest): string {
  return requestClient(req);
}

/** A route's inline pool: its `to` and settings, defaults filled in. */
function poolOf(config: ProxyConfig) {
  return resolvePool({ ...config, to: config.to! });
}
