// The request path: Host → site, path → route, then the route's action; on plain HTTP, ACME
// challenges and redirects to HTTPS; on HTTPS, 421 for misdirected requests and HSTS. Also the
// upgrade path (WebSockets), CONNECT and what Node's parser refuses, the access log entry for
// each answer, and the counts of requests in flight that a graceful stop (all of them) and a
// reload (those of the old config) wait for.

import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { clientAddress, resolveClient } from '../http/client-address.ts';
import type { Generation } from './generation.ts';
import type { InFlight } from './in-flight.ts';
import type { AccessLog } from '../ops/access-log.ts';
import type { RequestMetrics } from '../ops/metrics.ts';
import { assignRequestId } from '../ops/request-id.ts';
import type { Challenges } from '../tls/challenges.ts';
import type { Action } from './actions.ts';
import { h2HeadSize } from './h2-head.ts';
import { BadPathError, normalisePath, pathOf } from './path.ts';
import { completed, EdgeH2Response, EdgeResponse, requestHost, UNMATCHED, type EdgeRequest, type EdgeRes } from './response.ts';
import { hostName, Router, type RouteEntry, type SiteEntry } from './router.ts';
import { answerClientError } from './client-error.ts';
import { ALLOWED_METHODS, refusal } from './refusals.ts';
import { answerRaw, rawStatus, sendStatus } from './status.ts';

export interface SchemeOptions {
  scheme: 'http' | 'https';
  /** Pending ACME HTTP-01 challenges, answered on plain HTTP. */
  challenges?: Challenges;
  /** Where redirects to HTTPS point. */
  httpsPort: number;
  metrics?: RequestMetrics;
  /** HTTP/2 request heads larger than this many bytes get 431 (Node's parser judges HTTP/1.1's). */
  maxHeaderSize?: number;
}

type Resolved = { site: SiteEntry<Action>; route: RouteEntry<Action> } | number;

export class RequestHandler {
  /** The config new requests are served by; a reload replaces it. */
  current: Generation;
  private readonly access: AccessLog | undefined;
  private readonly scheme: SchemeOptions;
  /** Every request and upgraded connection not yet finished, whatever its generation. */
  private readonly all: InFlight;
  /** Set when edge is stopping: responses close their connections. */
  draining = false;

  constructor(current: Generation, all: InFlight, access: AccessLog | undefined, scheme: SchemeOptions) {
    this.current = current;
    this.all = all;
    this.access = access;
    this.scheme = scheme;
  }

  readonly onRequest = (req: EdgeRequest, res: EdgeRes): void => {
    res.startedAt = performance.now();
    const generation = this.current;
    res.client = resolveClient(req, generation.trust);
    assignRequestId(req);
    this.all.enter();
    generation.inFlight.enter();
    res.on('close', () => {
      this.finished(req, res);
      generation.inFlight.leave();
      this.all.leave();
    });
    if (this.draining && res instanceof EdgeResponse) res.shouldKeepAlive = false;
    const max = this.scheme.maxHeaderSize;
    if (max !== undefined && req.httpVersionMajor === 2 && h2HeadSize(req.rawHeaders) > max) {
      sendStatus(res, 431);
      return;
    }
    const refused = refusal(req);
    if (refused !== 0) {
      sendStatus(res, refused, { close: true, headers: refused === 405 ? ALLOW : undefined });
      return;
    }
    if (this.scheme.challenges && this.answerChallenge(req, res, generation)) return;
    this.dispatch(req, res, generation);
  };

  /** Everything after the ACME challenge check: routing, redirects, the route's action. */
  private dispatch(req: EdgeRequest, res: EdgeRes, generation: Generation): void {
    const resolved = this.resolve(req, generation.router);
    if (typeof resolved === 'number') {
      sendStatus(res, resolved);
      return;
    }
    res.site = resolved.site.name;
    res.route = resolved.route.pattern;
    const policy = resolved.site.policy;
    if (this.scheme.scheme === 'http') {
      if (policy.redirect) {
        this.redirectToHttps(req, res);
        return;
      }
    } else {
      if (this.misdirected(req, resolved.site, generation.router)) {
        sendStatus(res, 421);
        return;
      }
      if (policy.hsts !== undefined) res.setHeader('strict-transport-security', policy.hsts);
    }
    resolved.route.handler.handle(req, res, res);
  }

  /**
   * "Expect: 100-continue": only the proxy sends the 100 (after its body checks). Whoever answers
   * without it cannot know whether the client will still send the body, so the connection closes.
   */
  readonly onCheckContinue = (req: EdgeRequest, res: EdgeRes): void => {
    if (res instanceof EdgeResponse) res.shouldKeepAlive = false;
    this.onRequest(req, res);
  };

  readonly onUpgrade = (req: EdgeRequest, socket: Duplex, head: Buffer): void => {
    const startedAt = performance.now();
    const generation = this.current;
    const client = resolveClient(req, generation.trust);
    assignRequestId(req);
    this.all.enterUpgraded(socket);
    generation.inFlight.enterUpgraded(socket);
    socket.on('error', noop);
    let logged = false;
    let site = UNMATCHED;
    let route = UNMATCHED;
    const done = (status: number, upstream: string): void => {
      if (logged) return;
      logged = true;
      this.access?.log(req, client, status, 0, startedAt, upstream);
      this.scheme.metrics?.record(site, route, status, 0, (performance.now() - startedAt) / 1000);
    };
    const refused = refusal(req);
    const resolved = refused !== 0 ? refused : this.resolve(req, generation.router);
    let status = typeof resolved === 'number' ? resolved : resolved.route.handler.upgrade ? 0 : 404;
    if (typeof resolved !== 'number') {
      site = resolved.site.name;
      route = resolved.route.pattern;
      if (this.scheme.scheme === 'http' && resolved.site.policy.redirect) status = 403;
      else if (this.scheme.scheme === 'https' && this.misdirected(req, resolved.site, generation.router)) status = 421;
    }
    if (status !== 0 || typeof resolved === 'number') {
      socket.end(rawStatus(status, status === 405 ? ALLOW : undefined));
      done(status, '');
      return;
    }
    resolved.route.handler.upgrade!(req, socket, head, done);
  };

  /**
   * CONNECT: over HTTP/1.1 Node hands over the socket, and with nobody listening closes it
   * unanswered; over HTTP/2 it comes with a response, and goes the way of every request (a 405).
   */
  readonly onConnect = (req: EdgeRequest, socket: Duplex | EdgeRes): void => {
    if (socket instanceof EdgeH2Response) {
      this.onRequest(req, socket);
      return;
    }
    const startedAt = performance.now();
    assignRequestId(req);
    const raw = socket as Duplex;
    raw.on('error', noop);
    const bytes = answerRaw(raw, 405, ALLOW);
    this.access?.log(req, resolveClient(req, this.current.trust), 405, bytes, startedAt, '');
    this.scheme.metrics?.record(UNMATCHED, UNMATCHED, 405, bytes, (performance.now() - startedAt) / 1000);
  };

  /** Node's HTTP/1.1 parser gave up on a connection: its answer, logged like any other. */
  readonly onClientError = (err: Error, socket: Duplex): void => {
    answerClientError(err, socket, (status, bytes) => {
      this.access?.logUnparsed(clientAddress(socket as Socket) ?? '-', status, bytes);
      this.scheme.metrics?.record(UNMATCHED, UNMATCHED, status, bytes, 0);
    });
  };

  /** The site and route for a request, or the status to answer with when there is none. */
  private resolve(req: EdgeRequest, router: Router<Action>): Resolved {
    let url = req.url!;
    if (url.charCodeAt(0) !== 47 /* / */) {
      const absolute = absoluteForm(url);
      if (absolute === undefined) return 400;
      req.headers.host = absolute.host;
      req.url = url = absolute.path;
    }
    const site = router.site(requestHost(req));
    // under TLS the handshake already named a site: a Host edge does not serve was misdirected
    if (site === undefined) return this.scheme.scheme === 'https' ? 421 : 404;
    let path: string;
    try {
      path = normalisePath(pathOf(url));
    } catch (err) {
      if (err instanceof BadPathError) return 400;
      throw err;
    }
    const route = Router.route(site, path);
    return route === undefined ? 404 : { site, route };
  }

  /** True if the request is an ACME challenge this instance answers, now or after a shared look-up. */
  private answerChallenge(req: EdgeRequest, res: EdgeRes, generation: Generation): boolean {
    const challenges = this.scheme.challenges!;
    const path = pathOf(req.url!);
    const answer = challenges.httpAnswer(path);
    if (answer !== undefined) {
      sendChallenge(res, answer);
      return true;
    }
    if (!challenges.mayBeShared(path)) return false;
    // in a fleet: another instance's challenge, or, if none, the request goes on as usual
    void challenges.sharedHttpAnswer(path).then((shared) => {
      if (shared !== undefined) sendChallenge(res, shared);
      else this.dispatch(req, res, generation);
    });
    return true;
  }

  private redirectToHttps(req: EdgeRequest, res: EdgeRes): void {
    const host = requestHost(req) ?? '';
    const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : hostName(host);
    const port = this.scheme.httpsPort === 443 ? '' : `:${this.scheme.httpsPort}`;
    res.writeHead(308, { location: `https://${name}${port}${req.url}`, 'content-length': 0 });
    res.end();
  }

  /** The TLS server name picked another site than the Host header does (RFC 9110 15.5.20). */
  private misdirected(req: EdgeRequest, site: SiteEntry<Action>, router: Router<Action>): boolean {
    const servername = (req.socket as TLSSocket).servername;
    return typeof servername === 'string' && router.site(servername) !== site;
  }

  private finished(req: EdgeRequest, res: EdgeRes): void {
    // 499, as nginx logs it: the client closed the connection before the response was complete
    const status = completed(res) ? res.statusCode : 499;
    this.access?.log(req, res.client, status, res.bodyBytes, res.startedAt, res.upstream);
    this.scheme.metrics?.record(res.site, res.route, status, res.bodyBytes, (performance.now() - res.startedAt) / 1000);
  }
}

const ALLOW = { allow: ALLOWED_METHODS };

function noop(): void {}

/** `http://host:port/path?q` (a request target in absolute form) → authority and origin-form path. */
function absoluteForm(url: string): { host: string; path: string } | undefined {
  const m = /^https?:\/\/([^/?#]+)(.*)$/i.exec(url);
  if (!m) return undefined;
  const rest = m[2]!;
  return { host: m[1]!, path: rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}` };
}

function sendChallenge(res: EdgeRes, answer: string): void {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(answer) });
  res.bodyBytes = answer.length;
  res.end(answer);
}
