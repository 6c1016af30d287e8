// What a running edge has once, whichever process root serves its requests (one process,
// src/server/edge.ts, or a supervisor and its workers, src/ops/supervisor.ts): the error log,
// config reload, the certificate manager (loaded only when a site has TLS), the admin endpoint
// with /reload and /metrics, the start-up banner and readiness, and the graceful stop. What
// differs between the roots sits behind Front; the core never knows whether requests are served
// by listeners in this process or by workers it talks to over IPC.

import type { Server } from 'node:http';
import type { Config } from '../config/schema.ts';
import { restartNeeded } from '../config/reload-plan.ts';
import { accessLine, banner, type BannerFacts } from '../server/banner.ts';
import { checkFileLimit } from './open-files.ts';
import type { Certificates, CertificateSinks } from '../tls/setup.ts';
import { usesAcme, usesTls } from '../tls/plan.ts';
import { storageLabel } from '../tls/storage/open.ts';
import { createAdminServer, type AdminRoute, type HealthReport } from './admin.ts';
import { openAdmin } from './admin-address.ts';
import { certificateMetrics } from './cert-metrics.ts';
import { Logger } from './log.ts';
import type { MetricSample } from './metric-sample.ts';
import { CONTENT_TYPE, metricsText, sampleFamilies, type MetricFamily } from './metrics.ts';
import { notifyReady } from './notify.ts';
import { Reloader } from './reload.ts';
import { LogSink } from './sink.ts';
import { checkStorage } from './storage-check.ts';

export interface InstanceOptions {
  /** Where the config came from, for the banner and /health. */
  source: string;
  version: string;
  /** The config file, reread on reload; undefined for the one-liner. */
  file?: string;
}

/** What serves the requests: this process's own listeners, or the supervisor's workers. */
export interface Front {
  /** Where the certificate manager puts certificates and challenge answers. */
  readonly certificateSinks: Omit<CertificateSinks, 'logger'>;
  /** Starts serving (the listeners answer when it resolves); rejects when it cannot. */
  listen(certificates: Certificates | undefined): Promise<void>;
  /** Serves a validated config from now on; returns what it could not apply. */
  swap(next: Config): Promise<string[]>;
  /** The routes the config's actions contribute (upstream pools, cache purge). */
  adminRoutes(): AdminRoute[];
  /** The metric families of the serving processes, and samples about the front itself. */
  families(): Promise<MetricFamily[][]>;
  samples(): MetricSample[];
  readonly health: HealthReport;
  /** How many processes serve (1, or the workers): each has its own open-files limit to share. */
  readonly processes: number;
  /** The banner's serving lines, and the same in short for systemd's status ("serving …"). */
  banner(): Pick<BannerFacts, 'listening' | 'sites' | 'workers'>;
  readyStatus(): string;
  reopenLogs(): void;
  /** Stops serving, letting requests in flight finish within `graceMs`; the log lines before and after. */
  stopping(graceMs: number): string;
  stop(graceMs: number): Promise<string>;
}

export class InstanceCore {
  config: Config;
  readonly logger: Logger;
  readonly reloader: Reloader;
  private readonly opts: InstanceOptions;
  private readonly front: Front;
  private certificates: Certificates | undefined;
  private admin: Server | undefined;
  private adminLine = 'off';
  private stopping: Promise<void> | undefined;

  private constructor(config: Config, opts: InstanceOptions, front: (logger: Logger) => Front) {
    this.config = config;
    this.opts = opts;
    this.logger = new Logger(new LogSink(config.log.error));
    this.reloader = new Reloader(opts.file, (next) => this.apply(next), this.logger);
    this.front = front(this.logger);
  }

  /** Starts an instance served by the front `front` makes; resolves once it serves and has said so. */
  static async start(config: Config, opts: InstanceOptions, front: (logger: Logger) => Front): Promise<InstanceCore> {
    const core = new InstanceCore(config, opts, front);
    await core.open();
    return core;
  }

  private async open(): Promise<void> {
    const { config, front } = this;
    // the certificate manager and its libraries are loaded only when some site has TLS
    if (usesTls(config)) this.certificates = await (await import('../tls/setup.ts')).createCertificates(config, { logger: this.logger, ...front.certificateSinks });
    try {
      await front.listen(this.certificates);
    } catch (err) {
      // e.g. a Redis connection, which would keep the process alive after the error
      this.certificates?.stop();
      throw err;
    }
    // listeners first, since HTTP-01 validation needs the HTTP port answering; the banner once
    // stored certificates are installed, so "listening" means ready to serve them
    const warn = (m: string) => this.logger.warn(m);
    if (this.certificates) await checkStorage(config.storage, warn);
    await this.certificates?.manager.start();
    await this.startAdmin();
    this.logger.block(banner({
      version: this.opts.version,
      source: this.opts.source,
      ...front.banner(),
      storage: this.certificates ? storageLabel(config.storage) : undefined,
      admin: this.adminLine,
      access: accessLine(config.log),
      openFiles: checkFileLimit(this.logger, front.processes),
    }));
    void notifyReady(warn, `serving ${front.readyStatus()}`);
  }

  /** Swaps in a validated config; returns the settings that need a restart. */
  private async apply(next: Config): Promise<string[]> {
    const old = this.config;
    const warnings = restartNeeded(old, next, { tls: [usesTls(old), usesTls(next)], acme: [usesAcme(old), usesAcme(next)] });
    warnings.push(...await this.front.swap(next));
    this.config = next;
    await this.certificates?.update(next);
    return warnings;
  }

  private async metrics(): Promise<string> {
    const certs = this.certificates?.manager;
    const samples = [
      ...this.front.samples(),
      ...this.reloader.metrics(),
      ...(certs ? certificateMetrics(() => certs.states())() : []),
    ];
    return metricsText([...await this.front.families(), sampleFamilies(samples)]);
  }

  private adminRoutes(): AdminRoute[] {
    return [
      ...this.front.adminRoutes(),
      this.reloader.adminRoute(),
      { method: 'GET', path: '/metrics', handle: async () => ({ status: 200, contentType: CONTENT_TYPE, body: await this.metrics() }) },
    ];
  }

  private async startAdmin(): Promise<void> {
    const make = () => createAdminServer(
      { pid: process.pid, version: this.opts.version, config: this.opts.source, storage: storageLabel(this.config.storage) },
      this.certificates?.manager,
      this.logger,
      () => this.adminRoutes(),
      this.front.health,
    );
    ({ server: this.admin, line: this.adminLine } = await openAdmin(this.config.admin, make, (m) => this.logger.warn(m)));
  }

  reopenLogs(): void {
    this.front.reopenLogs();
    this.logger.reopen();
    this.logger.info('log files reopened');
  }

  /** Stops accepting, lets in-flight requests finish within grace_period, then closes everything. */
  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    const grace = this.config.grace_period;
    this.logger.info(this.front.stopping(grace));
    this.certificates?.stop();
    this.admin?.close();
    this.admin?.closeAllConnections();
    this.logger.info(await this.front.stop(grace));
    this.logger.flushSync();
  }
}
