// The route's gate (entry of src/access), in the order of the route pipeline: access (allow/deny,
// then basic_auth), rate_limit, conn_limit, and only then the action it wraps, for plain requests
// and upgrades alike. Built only for routes with one of those keys, so other routes pay nothing.

import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Route } from '../config/schema.ts';
import { requestClient } from '../http/client-address.ts';
import type { MetricSource } from '../ops/metric-sample.ts';
import type { Action } from '../server/actions.ts';
import type { EdgeRequest, EdgeRes } from '../server/response.ts';
import { answerRaw, sendStatus } from '../server/status.ts';
import { BasicAuth, type AuthOutcome } from './basic-auth.ts';
import { ConnLimit, RateLimit } from './limits.ts';
import { countRefusal, refusalSamples, type Reason } from './refusals.ts';
import { AddressRules } from './rules.ts';
import type { RedisSettings } from '../tls/storage/redis-url.ts';
import type { ResponseSink } from '../http/sink.ts';

export const accessMetrics: MetricSource = refusalSamples;

const STATUS: Record<Reason, number> = { denied: 403, unauthorized: 401, busy: 503, rate_limit: 429, conn_limit: 503 };

/** Why a request may not go on, with the headers of its answer; or a release for conn_limit, or nothing. */
type Verdict = { reason: Reason; headers?: Record<string, string> } | { release: (() => void) | undefined };

export class GateAction implements Action {
  private readonly inner: Action;
  private readonly site: string;
  private readonly route: string;
  private readonly rules: AddressRules | undefined;
  private readonly auth: BasicAuth | undefined;
  private readonly challenge: Record<string, string> | undefined;
  private readonly rate: RateLimit | undefined;
  private readonly conns: ConnLimit | undefined;
  upgrade?: Action['upgrade'];

  /** `fleet`: storage's Redis, which a rate_limit is shared through. */
  constructor(inner: Action, route: Route, site: string, fleet?: RedisSettings) {
    this.inner = inner;
    this.site = site;
    this.route = route.match;
    const access = route.access;
    this.rules = access?.allow || access?.deny ? new AddressRules(access.allow, access.deny) : undefined;
    this.auth = access?.basic_auth && new BasicAuth(access.basic_auth);
    this.challenge = this.auth && { 'www-authenticate': this.auth.challenge };
    this.rate = route.rate_limit && new RateLimit(route.rate_limit, fleet && { settings: fleet, name: `${site}${route.match}` });
    this.conns = route.conn_limit && new ConnLimit(route.conn_limit);
    if (inner.upgrade) this.upgrade = this.gateUpgrade;
  }

  handle(req: EdgeRequest, res: EdgeRes, out: ResponseSink): void {
    const go = (verdict: Verdict): void => {
      if ('reason' in verdict) {
        countRefusal(res.site, res.route, verdict.reason);
        sendStatus(res, STATUS[verdict.reason], { headers: verdict.headers }, out);
        return;
      }
      if (verdict.release) res.once('close', verdict.release);
      this.inner.handle(req, res, out);
    };
    const verdict = this.judge(res.client, req.headers);
    if (verdict instanceof Promise) void verdict.then((v) => (res.destroyed ? release(v) : go(v)));
    else go(verdict);
  }

  describe(): string {
    const parts = [this.rules && 'allow/deny', this.auth && 'basic_auth', this.rate && 'rate_limit', this.conns && 'conn_limit'];
    return `${this.inner.describe()} (${parts.filter(Boolean).join(', ')})`;
  }

  /** Everything before the action: sync unless a password has to be checked. */
  private judge(client: string, headers: IncomingHttpHeaders): Verdict | Promise<Verdict> {
    if (this.rules && !this.rules.allowed(client)) return { reason: 'denied' };
    if (!this.auth) return this.limits(client, headers);
    const outcome = this.auth.check(headers);
    if (outcome instanceof Promise) return outcome.then((o) => this.authorised(o, client, headers));
    return this.authorised(outcome, client, headers);
  }

  private authorised(outcome: AuthOutcome, client: string, headers: IncomingHttpHeaders): Verdict | Promise<Verdict> {
    if (outcome === false) return { reason: 'unauthorized', headers: this.challenge };
    if (outcome === undefined) return { reason: 'busy', headers: { 'retry-after': '1' } };
    if (!this.auth!.forward) delete headers.authorization;
    return this.limits(client, headers);
  }

  private limits(client: string, headers: IncomingHttpHeaders): Verdict | Promise<Verdict> {
    if (this.rate) {
      const wait = this.rate.check(this.rate.key(client, headers));
      if (wait instanceof Promise) return wait.then((w) => this.afterRate(w, client, headers));
      return this.afterRate(wait, client, headers);
    }
    return this.afterRate(0, client, headers);
  }

  private afterRate(wait: number, client: string, headers: IncomingHttpHeaders): Verdict {
    if (wait > 0) return { reason: 'rate_limit', headers: { 'retry-after': String(wait) } };
    if (!this.conns) return { release: undefined };
    const release = this.conns.enter(this.conns.key(client, headers));
    return release ? { release } : { reason: 'conn_limit', headers: { 'retry-after': '1' } };
  }

  private readonly gateUpgrade = (req: EdgeRequest, socket: Duplex, head: Buffer, done: (status: number, upstream: string) => void): void => {
    const go = (verdict: Verdict): void => {
      if ('reason' in verdict) {
        countRefusal(this.site, this.route, verdict.reason);
        const status = STATUS[verdict.reason];
        answerRaw(socket, status, verdict.headers);
        done(status, '');
        return;
      }
      if (verdict.release) socket.once('close', verdict.release);
      this.inner.upgrade!(req, socket, head, done);
    };
    const verdict = this.judge(requestClient(req), req.headers);
    if (verdict instanceof Promise) {
      void verdict.then((v) => {
        if (!socket.destroyed) go(v);
        else {
          release(v);
          done(499, '');
        }
      });
    } else {
      go(verdict);
    }
  };
}

/** A verdict for a client already gone: its conn_limit place is given back. */
function release(verdict: Verdict): void {
  if ('release' in verdict) verdict.release?.();
}
