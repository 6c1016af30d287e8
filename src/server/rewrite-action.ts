// A route's strip_prefix and rewrite around its action: req.url is replaced before the action
// (and, for WebSockets, the upgrade) sees it; the client's own target is kept for the access log.
// A path the rules would take above "/" is answered 400 here, so the action never sees it.

import type { Duplex } from 'node:stream';
import { setRequestUrl } from '../http/original-url.ts';
import type { Logger } from '../ops/log.ts';
import type { Action } from './actions.ts';
import { requestHost, type EdgeRequest, type EdgeRes } from './response.ts';
import { compileRewrite, RewriteRefusedError, type RewriteConfig, type Rewriter } from './rewrite.ts';
import { answerRaw, sendStatus } from './status.ts';
import type { ResponseSink } from '../http/sink.ts';

/** `inner` with the route's rules in front, or `inner` itself when the route has none. */
export function withRewrite(route: RewriteConfig, inner: Action, logger: Logger): Action {
  const rewriter = compileRewrite(route);
  return rewriter === undefined ? inner : new RewriteAction(rewriter, inner, route, logger);
}

class RewriteAction implements Action {
  private readonly rewriter: Rewriter;
  private readonly inner: Action;
  private readonly summary: string;
  private readonly logger: Logger;
  readonly upgrade?: Action['upgrade'];

  constructor(rewriter: Rewriter, inner: Action, route: RewriteConfig, logger: Logger) {
    this.rewriter = rewriter;
    this.inner = inner;
    this.logger = logger;
    const rules = [
      ...(route.strip_prefix !== undefined ? [`strip ${route.strip_prefix}`] : []),
      ...(route.rewrite ? [`rewrite ${route.rewrite.from} → ${route.rewrite.to}`] : []),
    ];
    this.summary = rules.join(', ');
    if (inner.upgrade) this.upgrade = (req, socket, head, done) => this.forwardUpgrade(req, socket, head, done);
  }

  handle(req: EdgeRequest, res: EdgeRes, out: ResponseSink): void {
    if (!this.apply(req)) {
      sendStatus(res, 400, {}, out);
      return;
    }
    this.inner.handle(req, res, out);
  }

  describe(): string {
    return `${this.summary}, ${this.inner.describe()}`;
  }

  private forwardUpgrade(req: EdgeRequest, socket: Duplex, head: Buffer, done: (status: number, upstream: string) => void): void {
    if (!this.apply(req)) {
      answerRaw(socket, 400);
      done(400, '');
      return;
    }
    this.inner.upgrade!(req, socket, head, done);
  }

  /** Rewrites req.url; false when the request must be refused. */
  private apply(req: EdgeRequest): boolean {
    const url = req.url!;
    let next: string;
    try {
      next = this.rewriter(url);
    } catch (err) {
      if (!(err instanceof RewriteRefusedError)) throw err;
      this.logger.warn(`400 ${req.method} ${url} on ${requestHost(req)}: ${err.message}`, req);
      return false;
    }
    if (next !== url) setRequestUrl(req, next);
    return true;
  }
}
