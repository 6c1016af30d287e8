// The request path: Host → site, path → route, then the route's action. Also the upgrade path
// (WebSockets), the access log entry for each request, and the count of requests in flight
// that a graceful stop waits for.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AccessLog } from '../ops/access-log.ts';
import type { Action } from './actions.ts';
import { BadPathError, normalisePath, pathOf } from './path.ts';
import type { EdgeResponse } from './response.ts';
import { Router, type RouteEntry } from './router.ts';
import { rawStatus, sendStatus } from './status.ts';

export class RequestHandler {
  readonly router: Router<Action>;
  private readonly access: AccessLog | undefined;
  /** Requests and upgraded connections not yet finished. */
  inFlight = 0;
  /** Set when edge is stopping: responses close their connections. */
  draining = false;
  private readonly upgraded = new Set<Duplex>();
  private onIdle: (() => void) | undefined;

  constructor(router: Router<Action>, access: AccessLog | undefined) {
    this.router = router;
    this.access = access;
  }

  readonly onRequest = (req: IncomingMessage, res: EdgeResponse): void => {
    res.startedAt = performance.now();
    this.inFlight++;
    res.on('close', () => this.finished(req, res));
    if (this.draining) res.shouldKeepAlive = false;
    const te = req.headers['transfer-encoding'];
    // Node strips only the chunked framing; another coding (gzip, chunked) would reach the
    // upstream unlabelled, so refuse it as nginx does
    if (te !== undefined && te.toLowerCase() !== 'chunked') {
      sendStatus(res, 501, { close: true });
      return;
    }
    const entry = this.resolve(req);
    if (typeof entry === 'number') {
      sendStatus(res, entry);
      return;
    }
    entry.handler.handle(req, res);
  };

  /**
   * "Expect: 100-continue": only the proxy sends the 100 (after its body checks). Whoever answers
   * without it cannot know whether the client will still send the body, so the connection closes.
   */
  readonly onCheckContinue = (req: IncomingMessage, res: EdgeResponse): void => {
    res.shouldKeepAlive = false;
    this.onRequest(req, res);
  };

  readonly onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const startedAt = performance.now();
    this.inFlight++;
    this.upgraded.add(socket);
    socket.on('error', noop);
    let logged = false;
    const done = (status: number, upstream: string): void => {
      if (logged) return;
      logged = true;
      this.access?.log(req, status, 0, startedAt, upstream);
    };
    socket.once('close', () => {
      this.upgraded.delete(socket);
      this.inFlight--;
      this.checkIdle();
    });
    const entry = this.resolve(req);
    if (typeof entry === 'number' || !entry.handler.upgrade) {
      const status = typeof entry === 'number' ? entry : 404;
      socket.end(rawStatus(status));
      done(status, '');
      return;
    }
    entry.handler.upgrade(req, socket, head, done);
  };

  /** Resolves when nothing is in flight; calls after `graceMs` force the issue. */
  drain(graceMs: number): Promise<boolean> {
    this.draining = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.onIdle = undefined;
        for (const socket of this.upgraded) socket.destroy();
        resolve(false);
      }, graceMs);
      this.onIdle = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.checkIdle();
    });
  }

  /** The route for a request, or the status to answer with when there is none. */
  private resolve(req: IncomingMessage): RouteEntry<Action> | number {
    let url = req.url!;
    if (url.charCodeAt(0) !== 47 /* / */) {
      const absolute = absoluteForm(url);
      if (absolute === undefined) return 400;
      req.headers.host = absolute.host;
      req.url = url = absolute.path;
    }
    const site = this.router.site(req.headers.host);
    if (site === undefined) return 404;
    let path: string;
    try {
      path = normalisePath(pathOf(url));
    } catch (err) {
      if (err instanceof BadPathError) return 400;
      throw err;
    }
    return Router.route(site, path) ?? 404;
  }

  private finished(req: IncomingMessage, res: EdgeResponse): void {
    this.inFlight--;
    // 499, as nginx logs it: the client closed the connection before the response was complete
    const status = res.writableFinished ? res.statusCode : 499;
    this.access?.log(req, status, res.bodyBytes, res.startedAt, res.upstream);
    if (this.draining) this.checkIdle();
  }

  private checkIdle(): void {
    if (this.inFlight === 0 && this.onIdle) {
      const idle = this.onIdle;
      this.onIdle = undefined;
      idle();
    }
  }
}

function noop(): void {}

/** `http://host:port/path?q` (a request target in absolute form) → authority and origin-form path. */
function absoluteForm(url: string): { host: string; path: string } | undefined {
  const m = /^https?:\/\/([^/?#]+)(.*)$/i.exec(url);
  if (!m) return undefined;
  const rest = m[2]!;
  return { host: m[1]!, path: rest === '' ? '/' : rest.startsWith('/') ? rest : `/${rest}` };
}
