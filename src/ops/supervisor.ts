// The supervisor (primary process) of `workers: N`, the front of the instance core
// (src/ops/instance-core.ts, which owns the certificate manager with its single ACME client, the
// admin endpoint, config loading and reload): forks the workers that own the listeners
// (node:cluster with SCHED_NONE, so the kernel spreads connections), relays certificates and
// challenge answers to every worker, asks them for metrics and admin answers, replaces a worker
// that dies with growing delays, and says so loudly when they keep dying.
//
// Reload: the supervisor validates the file, then every worker swaps config in place (new
// requests on the new routes, requests and WebSockets under way finish on the old ones). Chosen
// over starting new workers and draining the old: no second set of processes and listeners,
// no window where old and new workers compete, and the same swap code as one-process edge.

import cluster, { type Worker } from 'node:cluster';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.ts';
import { Router } from '../server/router.ts';
import type { BannerFacts } from '../server/banner.ts';
import type { ServedCertificate } from '../tls/context.ts';
import type { Certificates } from '../tls/setup.ts';
import { CertificateTable } from '../tls/sni.ts';
import type { AdminAnswer, AdminRoute, HealthReport } from './admin.ts';
import { restartPlan, LOOP_DEATHS, LOOP_WINDOW_MS } from './backoff.ts';
import { InstanceCore, type Front, type InstanceOptions } from './instance-core.ts';
import { ignoreSendError, Rpc, type AdminRouteKey, type SupervisorQuestion, type ToSupervisor, type ToWorker } from './ipc.ts';
import type { Logger } from './log.ts';
import type { MetricSample } from './metric-sample.ts';
import { RequestMetrics, type MetricFamily } from './metrics.ts';
import { RelayChallenges } from './relay-challenges.ts';

export interface SupervisorOptions extends InstanceOptions {
  count: number;
}

/** A worker could not start serving (a port in use): edge does not start. */
export class WorkerStartError extends Error {
  readonly code = 'EWORKERSTART';
}

interface Slot {
  worker: Worker;
  rpc: Rpc;
  startedAt: number;
  ready: boolean;
  /** The config the worker serves (a reload while it started may have left it behind). */
  config: Config;
  routes: AdminRouteKey[];
}

export class Supervisor implements Front {
  private config: Config;
  private readonly logger: Logger;
  private readonly count: number;
  get processes(): number {
    return this.count;
  }
  private readonly slots = new Map<number, Slot>();
  private readonly installed = new Map<string, ToWorker & { t: 'cert' }>();
  private readonly challenges = new RelayChallenges((m) => this.broadcast(m));
  private onDemand: Certificates['onDemand'];
  private readonly ownMetrics = new RequestMetrics();
  private covers: Router<null>;
  private restarts = 0;
  private deaths: number[] = [];
  private stopped = false;
  private onFirstReady: ((err?: Error) => void) | undefined;
  /** The first worker's listeners and routes, for the banner. */
  private firstListening: string[] = [];
  private firstSites: string[] = [];

  private constructor(config: Config, logger: Logger, count: number) {
    this.config = config;
    this.logger = logger;
    this.count = count;
    this.covers = new Router(config.sites, () => null);
  }

  static start(config: Config, opts: SupervisorOptions): Promise<InstanceCore> {
    return InstanceCore.start(config, opts, (logger) => new Supervisor(config, logger, opts.count));
  }

  readonly certificateSinks: Front['certificateSinks'] = {
    table: new CertificateTable(),
    challenges: this.challenges,
    onInstall: (cert) => this.relayCertificate(cert),
    onRemove: (names) => {
      for (const [key, c] of this.installed) if (c.names.some((n) => names.includes(n))) this.installed.delete(key);
      this.broadcast({ t: 'uncert', names });
    },
    coversOnDemand: (name) => this.covers.site(name)?.site.tls === 'on_demand',
  };

  /** Forks the workers and waits until every one serves. */
  async listen(certificates: Certificates | undefined): Promise<void> {
    this.onDemand = certificates?.onDemand;
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    // workers run the same files as this process: built JavaScript, or the TypeScript sources
    const workerMain = new URL(import.meta.url.endsWith('.ts') ? './worker-main.ts' : './worker-main.js', import.meta.url);
    cluster.setupPrimary({ exec: fileURLToPath(workerMain), args: [] });
    const ready = new Promise<void>((resolve, reject) => {
      let waiting = this.count;
      this.onFirstReady = (err) => {
        if (err) reject(err);
        else if (--waiting === 0) resolve();
      };
    });
    for (let i = 0; i < this.count; i++) this.fork();
    try {
      await ready;
    } catch (err) {
      this.stopped = true;
      for (const slot of this.slots.values()) slot.worker.kill('SIGKILL');
      throw err;
    }
    this.onFirstReady = undefined;
  }

  banner(): Pick<BannerFacts, 'listening' | 'sites' | 'workers'> {
    return {
      listening: this.firstListening,
      workers: `${this.count} (pids ${[...this.slots.values()].map((w) => w.worker.process.pid).join(', ')}), supervisor pid ${process.pid}`,
      sites: this.firstSites,
    };
  }

  readyStatus(): string {
    return `${this.firstListening.join(', ')} with ${this.count} workers`;
  }

  private fork(): void {
    const worker = cluster.fork();
    const slot: Slot = { worker, rpc: new Rpc(worker), startedAt: Date.now(), ready: false, config: this.config, routes: [] };
    this.slots.set(worker.id, slot);
    worker.on('message', (message: unknown) => {
      if (slot.rpc.receive(message, (q: SupervisorQuestion) => this.answer(q))) return;
      this.fromWorker(slot, message as ToSupervisor);
    });
    worker.once('online', () => {
      this.send(slot, { t: 'start', config: slot.config });
      for (const cert of this.installed.values()) this.send(slot, cert);
      for (const [token, keyAuthorization] of this.challenges.tokens) this.send(slot, { t: 'http01', token, keyAuthorization });
      for (const [name, cert] of this.challenges.alpnCerts) this.send(slot, { t: 'alpn', name, cert });
    });
    worker.once('exit', (code, signal) => this.died(slot, code, signal));
    // the channel's errors; a death itself is reported by died()
    worker.on('error', (err: Error) => this.logger.warn(`worker ${worker.process.pid}: ${err.message}`));
  }

  private fromWorker(slot: Slot, m: ToSupervisor): void {
    if (m.t === 'failed') {
      // at start-up edge exits with the message; later, a replacement's failure is logged
      if (this.onFirstReady) this.onFirstReady(new WorkerStartError(m.message));
      else this.logger.error(`worker ${slot.worker.process.pid} could not start: ${m.message}`);
      return;
    }
    slot.ready = true;
    slot.routes = m.routes;
    if (this.firstListening.length === 0) {
      this.firstListening = m.listening;
      this.firstSites = m.sites;
    }
    this.onFirstReady?.();
    if (slot.config !== this.config) void this.swapWorker(slot, this.config);
  }

  private died(slot: Slot, code: number | null, signal: string | null): void {
    this.slots.delete(slot.worker.id);
    slot.rpc.close();
    if (this.stopped) return;
    if (this.onFirstReady) {
      this.onFirstReady(new WorkerStartError(`worker ${slot.worker.process.pid} exited (${signal ?? `code ${code}`}) while starting`));
      return;
    }
    const now = Date.now();
    const plan = restartPlan(this.deaths, now, now - slot.startedAt);
    this.deaths = [...this.deaths.filter((t) => now - t < LOOP_WINDOW_MS), now];
    this.restarts++;
    const lived = ((now - slot.startedAt) / 1000).toFixed(1);
    this.logger.error(`worker ${slot.worker.process.pid} died (${signal ?? `exit code ${code}`}) after ${lived} s; starting a new one${plan.delayMs ? ` in ${plan.delayMs} ms` : ''}`);
    if (plan.crashLoop) this.logger.error(`workers are crash-looping: ${this.deaths.length} deaths in the last ${LOOP_WINDOW_MS / 1000} s; see the errors above (restarts are slowed down, up to 30 s apart)`);
    setTimeout(() => {
      if (!this.stopped) this.fork();
    }, plan.delayMs).unref();
  }

  private relayCertificate(cert: ServedCertificate): void {
    const m: ToWorker & { t: 'cert' } = { t: 'cert', names: cert.names, certPem: cert.certPem, keyPem: cert.keyPem, ip: cert.names.some((n) => isIP(n)) };
    this.installed.set(cert.names.join(','), m);
    this.broadcast(m);
  }

  private send(slot: Slot, m: ToWorker): void {
    if (slot.worker.isConnected()) slot.worker.send(m, ignoreSendError);
  }

  private broadcast(m: ToWorker): void {
    for (const slot of this.slots.values()) this.send(slot, m);
  }

  private async answer(q: SupervisorQuestion): Promise<unknown> {
    const onDemand = this.onDemand;
    if (!onDemand) return { error: 'on-demand TLS is not configured' };
    try {
      await onDemand.certificate(q.name);
      return {};
    } catch (err) {
      return { error: (err as Error).message };
    }
  }

  private async swapWorker(slot: Slot, config: Config): Promise<void> {
    slot.config = config;
    slot.routes = await slot.rpc.ask({ q: 'config', config }, 30_000);
  }

  /** Every worker that serves swaps to `next`; one that starts later is given it when it is ready. */
  async swap(next: Config): Promise<string[]> {
    this.config = next;
    this.covers = new Router(next.sites, () => null);
    const swaps = [...this.slots.values()].filter((s) => s.ready).map((s) => this.swapWorker(s, next));
    const failed = (await Promise.allSettled(swaps)).filter((r) => r.status === 'rejected');
    return failed.map((f) => `a worker did not take the new config: ${(f.reason as Error).message}`);
  }

  private ready(): Slot[] {
    return [...this.slots.values()].filter((s) => s.ready && s.worker.isConnected());
  }

  samples(): MetricSample[] {
    return [
      { name: 'edge_worker_restarts_total', help: 'Workers that died and were replaced.', type: 'counter', labels: {}, value: this.restarts },
      { name: 'edge_workers', help: 'Worker processes serving requests now.', type: 'gauge', labels: {}, value: this.ready().length },
    ];
  }

  /** Each worker's families, and the supervisor's own process metrics. */
  async families(): Promise<MetricFamily[][]> {
    const answers = await Promise.allSettled(this.ready().map((s) => s.rpc.ask({ q: 'metrics' }, 5000)));
    const workers = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value as MetricFamily[]] : []));
    return [...workers, await this.ownMetrics.families([])];
  }

  /** An admin route the actions of each worker contribute: asked of every worker, answers combined. */
  private forward(key: AdminRouteKey): AdminRoute {
    return {
      ...key,
      handle: async (query) => {
        const slots = this.ready();
        const answers = await Promise.allSettled(slots.map((s) => s.rpc.ask({ q: 'admin', method: key.method, path: key.path, query: query.toString() }, 30_000)));
        const per = answers.map((a, i) => ({
          pid: slots[i]!.worker.process.pid,
          ...(a.status === 'fulfilled' ? a.value : { status: 502, body: { error: (a.reason as Error).message } }),
        }));
        if (per.length === 1) return { status: per[0]!.status, body: per[0]!.body, contentType: per[0]!.contentType } satisfies AdminAnswer;
        return { status: Math.max(...per.map((p) => p.status)), body: { workers: per.map(({ pid, status, body }) => ({ pid, status, body })) } };
      },
    };
  }

  adminRoutes(): AdminRoute[] {
    const seen = new Map<string, AdminRouteKey>();
    for (const slot of this.ready()) for (const r of slot.routes) seen.set(`${r.method} ${r.path}`, r);
    return [...seen.values()].map((key) => this.forward(key));
  }

  readonly health: HealthReport = () => {
    const ready = this.ready();
    const now = Date.now();
    const recentDeaths = this.deaths.filter((t) => now - t < LOOP_WINDOW_MS).length;
    const crashLoop = recentDeaths >= LOOP_DEATHS;
    return {
      status: ready.length === 0 ? 'down' as const : crashLoop || ready.length < this.count ? 'degraded' as const : 'ok' as const,
      workers: { wanted: this.count, ready: ready.length, pids: ready.map((s) => s.worker.process.pid), restarts: this.restarts, crash_loop: crashLoop },
    };
  };

  reopenLogs(): void {
    this.broadcast({ t: 'reopen' });
  }

  stopping(graceMs: number): string {
    return `stopping: ${this.slots.size} worker(s) finish their requests (up to ${graceMs / 1000}s)`;
  }

  /** Tells every worker to drain and waits for them (past the grace period plus a margin, they are killed). */
  async stop(graceMs: number): Promise<string> {
    this.stopped = true;
    const exits = [...this.slots.values()].map((slot) => new Promise<void>((done) => {
      if (slot.worker.isDead()) return done();
      slot.worker.once('exit', () => done());
      this.send(slot, { t: 'stop' });
      setTimeout(() => slot.worker.kill('SIGKILL'), graceMs + 5000).unref();
    }));
    await Promise.all(exits);
    return 'stopped';
  }
}
