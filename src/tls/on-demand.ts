// On-demand TLS: a handshake for a name with no certificate, on a site with tls: on_demand, asks
// the operator's endpoint (GET ask?domain=NAME, 2xx = yes) and, if approved and within the rate
// limit, obtains the certificate while the handshake waits. Answers are cached and concurrent
// handshakes for one name share one attempt, so nobody can make edge spend the CA's limits.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const YES_TTL = 3_600_000;
const NO_TTL = 60_000;
const ASK_TIMEOUT = 5_000;
const MAX_CACHED = 10_000;
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

export class OnDemandRefusedError extends Error {
  readonly code = 'EONDEMAND';
  constructor(name: string, why: string) {
    super(`on-demand certificate for ${name} refused: ${why}`);
    this.name = 'OnDemandRefusedError';
  }
}

export interface OnDemandOptions {
  ask: string;
  burst: number;
  intervalMs: number;
  /** Whether a site with tls: on_demand covers the name. */
  covers: (name: string) => boolean;
  /** Obtains (or loads from storage) the certificate for an approved name. */
  obtain: (name: string) => Promise<void>;
}

export class OnDemand {
  private readonly opts: OnDemandOptions;
  private readonly answers = new Map<string, { yes: boolean; until: number }>();
  private readonly pending = new Map<string, Promise<void>>();
  private tokens: number;
  private refilledAt = Date.now();

  constructor(opts: OnDemandOptions) {
    this.opts = opts;
    this.tokens = opts.burst;
  }

  /** Resolves once `name` has a certificate; rejects with the reason it will not get one. */
  certificate(servername: string): Promise<void> {
    const name = servername.toLowerCase();
    let attempt = this.pending.get(name);
    if (!attempt) {
      attempt = this.attempt(name).finally(() => this.pending.delete(name));
      this.pending.set(name, attempt);
    }
    return attempt;
  }

  private async attempt(name: string): Promise<void> {
    if (!DNS_NAME.test(name)) throw new OnDemandRefusedError(name, 'not a DNS name');
    if (!this.opts.covers(name)) throw new OnDemandRefusedError(name, 'no tls: on_demand site serves it');
    if (!(await this.approved(name))) throw new OnDemandRefusedError(name, `${this.opts.ask} said no`);
    if (!this.take()) throw new OnDemandRefusedError(name, `rate limit: ${this.opts.burst} new certificates per ${this.opts.intervalMs / 1000}s`);
    await this.opts.obtain(name);
  }

  private async approved(name: string): Promise<boolean> {
    const cached = this.answers.get(name);
    if (cached && cached.until > Date.now()) return cached.yes;
    const yes = await ask(this.opts.ask, name);
    if (this.answers.size >= MAX_CACHED) this.answers.delete(this.answers.keys().next().value!);
    this.answers.set(name, { yes, until: Date.now() + (yes ? YES_TTL : NO_TTL) });
    return yes;
  }

  /** Token bucket: `burst` new certificates, refilled in full every interval. */
  private take(): boolean {
    const now = Date.now();
    if (now - this.refilledAt >= this.opts.intervalMs) {
      this.tokens = this.opts.burst;
      this.refilledAt = now;
    }
    if (this.tokens === 0) return false;
    this.tokens--;
    return true;
  }
}

/** GET ask?domain=NAME: 2xx is yes; anything else, including no answer, is no. */
function ask(endpoint: string, name: string): Promise<boolean> {
  const url = new URL(endpoint);
  url.searchParams.set('domain', name);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: ASK_TIMEOUT }, (res) => {
      res.resume();
      resolve(res.statusCode! >= 200 && res.statusCode! < 300);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
