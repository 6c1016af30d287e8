// A one-process edge: serves (listeners, request path) and manages in the same process:
// certificates, the admin endpoint, reloads that swap the config in place, and the graceful stop.
// With workers, the supervisor (src/ops/supervisor.ts) takes the managing part and each worker
// runs the serving part.

import { isIP } from 'node:net';
import type { Server } from 'node:http';
import type { Config } from '../config/schema.ts';
import { restartNeeded } from '../config/reload-plan.ts';
import { createAdminServer, type AdminRoute } from '../ops/admin.ts';
import { openAdmin } from '../ops/admin-address.ts';
import { certificateMetrics } from '../ops/cert-metrics.ts';
import { Logger } from '../ops/log.ts';
import { notifyReady } from '../ops/notify.ts';
import { checkFileLimit } from '../ops/open-files.ts';
import { CONTENT_TYPE, metricsText, sampleFamilies } from '../ops/metrics.ts';
import { Reloader } from '../ops/reload.ts';
import { storageLabel } from '../tls/storage/open.ts';
import { checkStorage } from '../ops/storage-check.ts';
import { LogSink } from '../ops/sink.ts';
import { Challenges } from '../tls/challenges.ts';
import { CertificateTable } from '../tls/sni.ts';
import type { Certificates } from '../tls/setup.ts';
import { usesAcme, usesTls } from '../tls/plan.ts';
import { banner, siteLines } from './banner.ts';
import { Serving } from './serving.ts';

export interface StartOptions {
  /** Where the config came from, for the banner. */
  source: string;
  version: string;
  /** The config file, reread on reload; undefined for the one-liner. */
  file?: string;
}

export class Edge {
  config: Config;
  readonly logger: Logger;
  readonly reloader: Reloader;
  private readonly opts: StartOptions;
  private serving!: Serving;
  private certificates: Certificates | undefined;
  private admin: Server | undefined;
  private adminLine = '';
  private stopping: Promise<void> | undefined;

  private constructor(config: Config, opts: StartOptions) {
    this.config = config;
    this.opts = opts;
    this.logger = new Logger(new LogSink(config.log.error));
    this.reloader = new Reloader(opts.file, (next) => this.apply(next), this.logger);
  }

  static async start(config: Config, opts: StartOptions): Promise<Edge> {
    const edge = new Edge(config, opts);
    const table = new CertificateTable();
    const challenges = new Challenges();
    let serving: Serving | undefined;
    // the certificate manager and its libraries are loaded only when some site has TLS
    const certificates = !usesTls(config) ? undefined : await (await import('../tls/setup.ts')).createCertificates(config, {
      logger: edge.logger,
      table,
      challenges,
      onInstall: (cert) => {
        if (cert.names.some((n) => isIP(n))) serving?.setDefaultCertificate(cert);
      },
      coversOnDemand: (name) => edge.serving.current.router.site(name)?.site.tls === 'on_demand',
    });
    const onDemand = certificates?.onDemand;
    try {
      serving = await Serving.listen(config, edge.logger, { tls: certificates !== undefined, table, challenges, onDemand: onDemand && ((name) => onDemand.certificate(name)) });
    } catch (err) {
      // e.g. a Redis connection, which would keep the process alive after the error
      certificates?.stop();
      throw err;
    }
    edge.serving = serving;
    edge.certificates = certificates;
    // listeners first, since HTTP-01 validation needs the HTTP port answering; the banner once
    // stored certificates are installed, so "listening" means ready to serve them
    if (certificates) await checkStorage(config.storage, (m) => edge.logger.warn(m));
    await certificates?.manager.start();
    await edge.startAdmin();
    edge.logger.block(banner({
      version: opts.version,
      source: opts.source,
      listening: serving.listening(),
      sites: siteLines(serving.current.router.sites),
      storage: certificates ? storageLabel(config.storage) : undefined,
      admin: edge.adminLine,
      access: serving.accessLine,
      openFiles: checkFileLimit(edge.logger, 1),
    }));
    void notifyReady((m) => edge.logger.warn(m), `serving ${serving.listening().join(', ')}`);
    return edge;
  }

  /** Actual listening addresses, e.g. for tests that ask for port 0. */
  addresses(): { host: string; port: number }[] {
    return this.serving.addresses();
  }

  /** Swaps in a validated config; returns the settings that need a restart. */
  private async apply(next: Config): Promise<string[]> {
    const old = this.config;
    const warnings = restartNeeded(old, next, { tls: [usesTls(old), usesTls(next)], acme: [usesAcme(old), usesAcme(next)] });
    await this.serving.swap(next);
    this.config = next;
    await this.certificates?.update(next);
    return warnings;
  }

  private adminRoutes(): AdminRoute[] {
    const certs = this.certificates?.manager;
    return [
      ...this.serving.current.adminRoutes,
      this.reloader.adminRoute(),
      {
        method: 'GET',
        path: '/metrics',
        handle: async () => {
          const families = await this.serving.families();
          const own = [this.reloader.metrics, ...(certs ? [certificateMetrics(() => certs.states())] : [])];
          return { status: 200, contentType: CONTENT_TYPE, body: await metricsText([families, sampleFamilies(own.flatMap((m) => m()))]) };
        },
      },
    ];
  }

  private async startAdmin(): Promise<void> {
    const make = () => createAdminServer(
      { pid: process.pid, version: this.opts.version, config: this.opts.source, storage: storageLabel(this.config.storage) },
      this.certificates?.manager,
      this.logger,
      () => this.adminRoutes(),
      // the supervisor's report, for one process: the README's /health fields whatever the workers setting
      () => ({ status: 'ok', workers: { wanted: 1, ready: 1, pids: [process.pid], restarts: 0, crash_loop: false } }),
    );
    ({ server: this.admin, line: this.adminLine } = await openAdmin(this.config.admin, make, (m) => this.logger.warn(m)));
  }

  reopenLogs(): void {
    this.serving.reopenLogs();
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
    const pending = this.serving.inFlight;
    this.logger.info(pending > 0
      ? `stopping: waiting up to ${grace / 1000}s for ${pending} request(s) in flight`
      : 'stopping');
    this.certificates?.stop();
    this.admin?.close();
    this.admin?.closeAllConnections();
    const cut = await this.serving.stop(grace);
    this.logger.info(cut === 0 ? 'stopped' : `stopped: grace period over, ${cut} request(s) cut off`);
    this.logger.flushSync();
  }
}
