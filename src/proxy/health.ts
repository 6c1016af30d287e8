// Active health checks: every `interval`, a GET of `path` to each upstream of a pool, over the
// same TCP (TLS for https://, verified the same way) or Unix socket requests use, on a fresh
// connection (a pooled one could hide a dead listener). Results go to the pool, which decides
// when an upstream leaves or rejoins rotation.

import { request, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HealthConfig } from '../config/upstream-schema.ts';
import type { Member, Pool } from './pool.ts';
import { tlsOptions } from './upstream.ts';

export class HealthChecker {
  private readonly pool: Pool;
  private readonly health: HealthConfig;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Map<Member, ClientRequest>();
  /** Set by stop(): the checks it cuts short fail, and must not count against the upstream. */
  private stopped = false;

  constructor(pool: Pool, health: HealthConfig) {
    this.pool = pool;
    this.health = health;
  }

  start(): void {
    for (const m of this.pool.members) {
      const check = () => this.check(m);
      // health checks alone must not keep edge running
      this.timers.push(setTimeout(check, 0).unref(), setInterval(check, this.health.interval).unref());
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
    for (const req of this.running.values()) req.destroy();
    this.running.clear();
  }

  private check(m: Member): void {
    // a check slower than the interval is not stacked up
    if (this.running.has(m)) return;
    const a = m.address;
    const target = a.kind === 'unix' ? { socketPath: a.path } : { host: a.host, port: a.port, ...(a.tls ? tlsOptions(a.host, a.tls) : {}) };
    const host = a.kind === 'unix' ? 'localhost' : `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
    const send: (options: RequestOptions, answered: (res: IncomingMessage) => void) => ClientRequest = a.kind === 'tcp' && a.tls ? httpsRequest : request;
    let settled = false;
    const done = (ok: boolean, detail: string) => {
      if (settled || this.stopped) return;
      settled = true;
      this.running.delete(m);
      this.pool.checked(m, ok, detail);
    };
    const req = send({ ...target, path: this.health.path, method: 'GET', agent: false, headers: { host, 'user-agent': 'edge-health-check' } }, (res) => {
      res.resume();
      const status = res.statusCode!;
      const expected = this.health.expect_status;
      const ok = expected === undefined ? status >= 200 && status < 400 : status === expected;
      done(ok, `GET ${this.health.path} answered ${status}`);
    });
    req.setTimeout(this.health.timeout, () => req.destroy(new Error(`no answer within ${this.health.timeout} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => done(false, err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message));
    req.end();
    this.running.set(m, req);
  }
}
