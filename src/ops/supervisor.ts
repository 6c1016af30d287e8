// The supervisor (primary process) of `workers: N`: forks the workers that own the listeners
// (node:cluster with SCHED_NONE, so the kernel spreads connections), owns what must exist once per
// host (the certificate manager with its single ACME client, the admin endpoint, config loading
// and reload), relays certificates and challenge answers to every worker, replaces a worker that
// dies with growing delays, and says so loudly when they keep dying.
//
// Reload: the supervisor validates the file, then every worker swaps config in place (new
// requests on the new routes, requests and WebSockets under way finish on the old ones). Chosen
// over starting new workers and draining the old: no second set of processes and listeners,
// no window where old and new workers compete, and the same swap code as one-process edge.

import cluster, { type Worker } from 'node:cluster';
import { isIP } from 'node:net';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.ts';
import { restartNeeded } from '../config/reload-plan.ts';
import { Router } from '../server/router.ts';
import { banner } from '../server/banner.ts';
import type { ServedCertificate } from '../tls/context.ts';
import type { Certificates } from '../tls/setup.ts';
import { usesAcme, usesTls } from '../tls/plan.ts';
import { CertificateTable } from '../tls/sni.ts';
import { createAdminServer, type AdminAnswer, type AdminRoute } from './admin.ts';
import { openAdmin } from './admin-address.ts';
import { checkFileLimit } from './open-files.ts';
import { restartPlan, LOOP_DEATHS, LOOP_WINDOW_MS } from './backoff.ts';
import { certificateMetrics } from './cert-metrics.ts';
import { ignoreSendError, Rpc, type AdminRouteKey, type SupervisorQuestion, type ToSupervisor, type ToWorker } from './ipc.ts';
import { Logger } from './log.ts';
import { notifyReady } from './notify.ts';
import type { MetricSample } from './metric-sample.ts';
import { CONTENT_TYPE, metricsText, RequestMetrics, sampleFamilies, type MetricFamily } from './metrics.ts';
import { RelayChallenges } from './relay-challenges.ts';
import { Reloader } from './reload.ts';
import { storageLabel } from '../tls/storage/open.ts';
import { checkStorage } from './storage-check.ts';
import { LogSink } from './sink.ts';

export interface SupervisorOptions {
  source: string;
  version: string;
  file?: string;
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

export class Supervisor {
  config: Config;
  readonly logger: Logger;
  readonly reloader: Reloader;
  private readonly opts: SupervisorOptions;
  private readonly slots = new Map<number, Slot>();
  private readonly installed = new Map<string, ToWorker & { t: 'cert' }>();
  private readonly challenges: RelayChallenges;
  private certificates: Certificates | undefined;
  private readonly ownMetrics = new RequestMetrics();
  private covers: Router<null>;
  private admin: Server | undefined;
  private adminLine = 'off';
  private restarts = 0;
  private deaths: number[] = [];
  private stopping: Promise<void> | undefined;
  private onFirstReady: ((err?: Error) => void) | undefined;
  /** The first worker's listeners and routes, for the banner. */
  private firstListening: string[] = [];
  private firstSites: string[] = [];

  private constructor(config: Config, opts: SupervisorOptions) {
    this.config = config;
    this.opts = opts;
    this.logger = new Logger(new LogSink(config.log.error));
    this.reloader = new Reloader(opts.file, (next) => this.apply(next), this.logger);
    this.covers = new Router(config.sites, () => null);
    this.challenges = new RelayChallenges((m) => this.broadcast(m));
  }

  static async start(config: Config, opts: SupervisorOptions): Promise<Supervisor> {
    const s = new Supervisor(config, opts);
    // the certificate manager and its libraries are loaded only when some site has TLS
    if (usesTls(config)) s.certificates = await (await import('../tls/setup.ts')).createCertificates(config, {
      logger: s.logger,
      table: new CertificateTable(),
      challenges: s.challenges,
      onInstall: (cert) => s.relayCertificate(cert),
      onRemove: (names) => {
        for (const [key, c] of s.installed) if (c.names.some((n) => names.includes(n))) s.installed.delete(key);
        s.broadcast({ t: 'uncert', names });
      },
      coversOnDemand: (name) => s.covers.site(name)?.site.tls === 'on_demand',
    });
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    // workers run the same files as this process: built JavaScript, or the TypeScript sources
    const workerMain = new URL(import.meta.url.endsWith('.ts') ? './worker-main.ts' : './worker-main.js', import.meta.url);
    cluster.setupPrimary({ exec: fileURLToPath(workerMain), args: [] });
    const ready = new Promise<void>((resolve, reject) => {
      let waiting = opts.count;
      s.onFirstReady = (err) => {
        if (err) reject(err);
        else if (--waiting === 0) resolve();
      };
    });
    for (let i = 0; i < opts.count; i++) s.fork();
    try {
      await ready;
    } catch (err) {
      s.stopping = Promise.resolve();
      for (const slot of s.slots.values()) slot.worker.kill('SIGKILL');
      throw err;
    }
    s.onFirstReady = undefined;
    // workers listen first, since HTTP-01 validation needs the HTTP port answering
    if (s.certificates) await checkStorage(config.storage, (m) => s.logger.warn(m));
    await s.certificates?.manager.start();
    await s.startAdmin();
    s.logger.block(banner({
      version: opts.version,
      source: opts.source,
      listening: s.firstListening,
      workers: `${opts.count} (pids ${[...s.slots.values()].map((w) => w.worker.process.pid).join(', ')}), supervisor pid ${process.pid}`,
      sites: s.firstSites,
      storage: s.certificates ? storageLabel(config.storage) : undefined,
      admin: s.adminLine,
      access: config.log.access === 'off' ? 'off' : `${config.log.access} (${config.log.format})`,
      openFiles: checkFileLimit(s.logger, opts.count),
    }));
    void notifyReady((m) => s.logger.warn(m), `serving ${s.firstListening.join(', ')} with ${opts.count} workers`);
    return s;
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
    if (this.stopping) return;
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
      if (!this.stopping) this.fork();
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
    const onDemand = this.certificates?.onDemand;
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

  private async apply(next: Config): Promise<string[]> {
    const old = this.config;
    const warnings = restartNeeded(old, next, { tls: [usesTls(old), usesTls(next)], acme: [usesAcme(old), usesAcme(next)] });
    this.config = next;
    this.covers = new Router(next.sites, () => null);
    const swaps = [...this.slots.values()].filter((s) => s.ready).map((s) => this.swapWorker(s, next));
    const failed = (await Promise.allSettled(swaps)).filter((r) => r.status === 'rejected');
    for (const f of failed) warnings.push(`a worker did not take the new config: ${(f.reason as Error).message}`);
    await this.certificates?.update(next);
    return warnings;
  }

  private ready(): Slot[] {
    return [...this.slots.values()].filter((s) => s.ready && s.worker.isConnected());
  }

  private samples(): MetricSample[] {
    return [
      { name: 'edge_worker_restarts_total', help: 'Workers that died and were replaced.', type: 'counter', labels: {}, value: this.restarts },
      { name: 'edge_workers', help: 'Worker processes serving requests now.', type: 'gauge', labels: {}, value: this.ready().length },
      ...this.reloader.metrics(),
      ...(this.certificates ? certificateMetrics(() => this.certificates!.manager.states())() : []),
    ];
  }

  private async metrics(): Promise<string> {
    const answers = await Promise.allSettled(this.ready().map((s) => s.rpc.ask({ q: 'metrics' }, 5000)));
    const workers = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value as MetricFamily[]] : []));
    return metricsText([...workers, await this.ownMetrics.families([]), sampleFamilies(this.samples())]);
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

  private adminRoutes(): AdminRoute[] {
    const seen = new Map<string, AdminRouteKey>();
    for (const slot of this.ready()) for (const r of slot.routes) seen.set(`${r.method} ${r.path}`, r);
    return [
      ...[...seen.values()].map((key) => this.forward(key)),
      this.reloader.adminRoute(),
      { method: 'GET', path: '/metrics', handle: async () => ({ status: 200, contentType: CONTENT_TYPE, body: await this.metrics() }) },
    ];
  }

  private health() {
    const ready = this.ready();
    const now = Date.now();
    const recentDeaths = this.deaths.filter((t) => now - t < LOOP_WINDOW_MS).length;
    const crashLoop = recentDeaths >= LOOP_DEATHS;
    return {
      status: ready.length === 0 ? 'down' as const : crashLoop || ready.length < this.opts.count ? 'degraded' as const : 'ok' as const,
      workers: { wanted: this.opts.count, ready: ready.length, pids: ready.map((s) => s.worker.process.pid), restarts: this.restarts, crash_loop: crashLoop },
    };
  }

  private async startAdmin(): Promise<void> {
    const make = () => createAdminServer(
      { pid: process.pid, version: this.opts.version, config: this.opts.source, storage: storageLabel(this.config.storage) },
      this.certificates?.manager,
      this.logger,
      () => this.adminRoutes(),
      () => this.health(),
    );
    ({ server: this.admin, line: this.adminLine } = await openAdmin(this.config.admin, make, (m) => this.logger.warn(m)));
  }

  reopenLogs(): void {
    this.logger.reopen();
    this.broadcast({ t: 'reopen' });
    this.logger.info('log files reopened');
  }

  /** Tells every worker to drain and waits for them (past grace_period plus a margin, they are killed). */
  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    this.logger.info(`stopping: ${this.slots.size} worker(s) finish their requests (up to ${this.config.grace_period / 1000}s)`);
    this.certificates?.stop();
    this.admin?.close();
    this.admin?.closeAllConnections();
    const exits = [...this.slots.values()].map((slot) => new Promise<void>((done) => {
      if (slot.worker.isDead()) return done();
      slot.worker.once('exit', () => done());
      this.send(slot, { t: 'stop' });
      setTimeout(() => slot.worker.kill('SIGKILL'), this.config.grace_period + 5000).unref();
    }));
    await Promise.all(exits);
    this.logger.info('stopped');
    this.logger.flushSync();
  }
}
