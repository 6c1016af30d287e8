// A pool's upstreams and their state: requests in flight, failures, down or up. Decides which
// upstream takes a request (through the pool's policy, backups only when no primary can) and
// when one leaves and rejoins rotation: passively after max_fails failures within fail_timeout,
// actively from health check results. No I/O here apart from the log lines.

import type { UpstreamAddress } from '../config/address.ts';
import type { PoolConfig, UpstreamSpec } from '../config/upstream-schema.ts';
import type { Logger } from '../ops/log.ts';
import type { MetricSample } from '../ops/metric-sample.ts';
import { createPolicy } from './policies/index.ts';
import type { Candidate, PickRequest, Policy } from './policies/policy.ts';

/** The least share of its weight an upstream gets at the start of slow_start. */
const SLOW_START_FLOOR = 0.1;

export class Member implements Candidate {
  readonly name: string;
  readonly address: UpstreamAddress;
  /** Its place in the pool's `to` list. */
  readonly index: number;
  readonly backup: boolean;
  readonly maxConns: number;
  readonly configWeight: number;
  weight: number;
  available = false;
  inFlight = 0;
  /** Failures ever counted (passive and checks), for /metrics. */
  failures = 0;
  /** Out of rotation until health checks pass (or, without checks, until downUntil). */
  down = false;
  downUntil = 0;
  /** When it (re)joined rotation, for slow_start; 0 when it has been up from the start. */
  upSince = 0;
  lastError = '';
  lastErrorAt = 0;
  lastCheck = 0;
  lastCheckOk: boolean | undefined;
  /** Passive failures in the current fail_timeout window, and when that window began. */
  windowFails = 0;
  windowStart = 0;
  /** Health check results in a row. */
  passesInRow = 0;
  failsInRow = 0;

  constructor(spec: UpstreamSpec, index: number) {
    this.name = spec.address.name;
    this.address = spec.address;
    this.index = index;
    this.backup = spec.backup;
    this.maxConns = spec.max_conns;
    this.configWeight = spec.weight;
    this.weight = spec.weight;
  }
}

export interface UpstreamView {
  pool: string;
  address: string;
  state: 'up' | 'down';
  backup: boolean;
  weight: number;
  in_flight: number;
  failures: number;
  down_until: string | undefined;
  last_check: string | undefined;
  last_check_ok: boolean | undefined;
  last_error: string | undefined;
  last_error_at: string | undefined;
}

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : undefined);

export class Pool {
  readonly name: string;
  readonly config: PoolConfig;
  readonly members: Member[];
  private readonly primaries: Member[];
  private readonly backups: Member[];
  private readonly policy: Policy;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(name: string, config: PoolConfig, logger: Logger, opts: { policy?: Policy; now?: () => number } = {}) {
    this.name = name;
    this.config = config;
    this.logger = logger;
    this.now = opts.now ?? Date.now;
    this.policy = opts.policy ?? createPolicy(config.balance);
    this.members = config.to.map((spec, i) => new Member(spec, i));
    this.primaries = this.members.filter((m) => !m.backup);
    this.backups = this.members.filter((m) => m.backup);
  }

  /** The upstream for a request, skipping those it already tried; undefined when none can take it. */
  select(req: PickRequest, tried: readonly Member[] = []): Member | undefined {
    const now = this.now();
    if (this.refresh(this.primaries, tried, now)) return this.policy.select(this.primaries, req);
    if (this.refresh(this.backups, tried, now)) return this.policy.select(this.backups, req);
    return undefined;
  }

  /** Sets each member's availability and effective weight for this pick; true if any is available. */
  private refresh(list: readonly Member[], tried: readonly Member[], now: number): boolean {
    let any = false;
    for (const m of list) {
      m.available = this.isUp(m, now) && (m.maxConns === 0 || m.inFlight < m.maxConns) && !tried.includes(m);
      m.weight = this.effectiveWeight(m, now);
      any ||= m.available;
    }
    return any;
  }

  isUp(m: Member, now = this.now()): boolean {
    if (m.down) return false;
    if (m.downUntil === 0) return true;
    if (m.downUntil > now) return false;
    m.downUntil = 0;
    m.upSince = now;
    this.logger.info(`upstream ${m.name} of pool ${this.name} is back in rotation (fail_timeout over)`);
    return true;
  }

  private effectiveWeight(m: Member, now: number): number {
    const ramp = this.config.slow_start;
    if (ramp === 0 || m.upSince === 0 || now - m.upSince >= ramp) return m.configWeight;
    return m.configWeight * Math.max(SLOW_START_FLOOR, (now - m.upSince) / ramp);
  }

  begin(m: Member): void {
    m.inFlight++;
  }

  end(m: Member): void {
    m.inFlight--;
  }

  /** A request to `m` failed (connection error, timeout, a fail_status answer). */
  fail(m: Member, reason: string): void {
    const now = this.now();
    m.failures++;
    m.lastError = reason;
    m.lastErrorAt = now;
    const { max_fails: max, fail_timeout: window } = this.config;
    // like nginx: a lone upstream is never taken out by failures, there is nothing to fail over to
    if (max === 0 || this.members.length === 1 || !this.isUp(m, now)) return;
    if (now - m.windowStart > window) {
      m.windowStart = now;
      m.windowFails = 0;
    }
    if (++m.windowFails < max) return;
    m.windowFails = 0;
    if (this.config.health) {
      // with health checks, only they bring it back
      m.down = true;
      m.passesInRow = 0;
      this.logger.warn(`upstream ${m.name} of pool ${this.name} is down after ${max} failure(s) (${reason}); back when health checks pass`);
    } else {
      m.downUntil = now + window;
      this.logger.warn(`upstream ${m.name} of pool ${this.name} is down for ${window} ms after ${max} failure(s) (${reason})`);
    }
  }

  /** The outcome of one active health check of `m`. */
  checked(m: Member, ok: boolean, detail: string): void {
    const health = this.config.health!;
    const now = this.now();
    m.lastCheck = now;
    m.lastCheckOk = ok;
    if (ok) {
      m.failsInRow = 0;
      m.passesInRow++;
      if ((m.down || m.downUntil > now) && m.passesInRow >= health.passes) {
        m.down = false;
        m.downUntil = 0;
        m.upSince = now;
        this.logger.info(`upstream ${m.name} of pool ${this.name} is back in rotation (${m.passesInRow} health check(s) passed)`);
      }
      return;
    }
    m.passesInRow = 0;
    m.failsInRow++;
    m.failures++;
    m.lastError = `health check: ${detail}`;
    m.lastErrorAt = now;
    if (!m.down && m.failsInRow >= health.fails) {
      m.down = true;
      m.downUntil = 0;
      this.logger.warn(`upstream ${m.name} of pool ${this.name} is down: ${m.failsInRow} health check(s) failed (${detail})`);
    }
  }

  /** Seconds a client told 503 should wait: until the first upstream may be back. */
  retryAfter(): number {
    const now = this.now();
    let soonest = Infinity;
    for (const m of this.members) if (!m.down && m.downUntil > now) soonest = Math.min(soonest, m.downUntil - now);
    if (soonest === Infinity) soonest = this.config.health?.interval ?? 1000;
    return Math.max(1, Math.ceil(soonest / 1000));
  }

  /** "2 of 3 down, 1 at max_conns" for the 503 log line. */
  summary(): string {
    const now = this.now();
    const down = this.members.filter((m) => !this.isUp(m, now)).length;
    const full = this.members.filter((m) => m.maxConns > 0 && m.inFlight >= m.maxConns).length;
    return `${down} of ${this.members.length} down${full > 0 ? `, ${full} at max_conns` : ''}`;
  }

  views(): UpstreamView[] {
    const now = this.now();
    return this.members.map((m) => ({
      pool: this.name,
      address: m.name,
      state: this.isUp(m, now) ? 'up' : 'down',
      backup: m.backup,
      weight: m.configWeight,
      in_flight: m.inFlight,
      failures: m.failures,
      down_until: m.downUntil > now ? iso(m.downUntil) : undefined,
      last_check: iso(m.lastCheck),
      last_check_ok: m.lastCheckOk,
      last_error: m.lastError || undefined,
      last_error_at: iso(m.lastErrorAt),
    }));
  }

  samples(): MetricSample[] {
    const now = this.now();
    return this.members.flatMap((m) => {
      const labels = { pool: this.name, upstream: m.name };
      return [
        { name: 'edge_upstream_up', help: 'Whether the upstream is in rotation (1) or down (0).', type: 'gauge' as const, labels, value: this.isUp(m, now) ? 1 : 0 },
        { name: 'edge_upstream_in_flight', help: 'Requests to the upstream under way.', type: 'gauge' as const, labels, value: m.inFlight },
        { name: 'edge_upstream_failures_total', help: 'Failed requests and health checks of the upstream.', type: 'counter' as const, labels, value: m.failures },
      ];
    });
  }
}
