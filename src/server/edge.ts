// A one-process edge: the listeners and the request path in the same process as what an instance
// has once (src/ops/instance-core.ts: certificates, admin, reload, banner, stop). With workers,
// the supervisor (src/ops/supervisor.ts) is the front instead and each worker runs a Serving.

import { isIP } from 'node:net';
import type { Config } from '../config/schema.ts';
import type { AdminRoute, HealthReport } from '../ops/admin.ts';
import { InstanceCore, type Front, type InstanceOptions } from '../ops/instance-core.ts';
import type { Logger } from '../ops/log.ts';
import type { MetricFamily } from '../ops/metrics.ts';
import type { MetricSample } from '../ops/metric-sample.ts';
import { Challenges } from '../tls/challenges.ts';
import { CertificateTable } from '../tls/sni.ts';
import type { Certificates } from '../tls/setup.ts';
import { siteLines, type BannerFacts } from './banner.ts';
import { Serving } from './serving.ts';

export class Edge implements Front {
  private readonly config: Config;
  private readonly logger: Logger;
  private readonly table = new CertificateTable();
  private readonly challenges = new Challenges();
  private serving!: Serving;

  private constructor(config: Config, logger: Logger) {
    this.config = config;
    this.logger = logger;
  }

  static start(config: Config, opts: InstanceOptions): Promise<InstanceCore> {
    return InstanceCore.start(config, opts, (logger) => new Edge(config, logger));
  }

  readonly certificateSinks: Front['certificateSinks'] = {
    table: this.table,
    challenges: this.challenges,
    onInstall: (cert) => {
      if (cert.names.some((n) => isIP(n))) this.serving?.setDefaultCertificate(cert);
    },
    coversOnDemand: (name) => this.serving.current.router.site(name)?.site.tls === 'on_demand',
  };

  async listen(certificates: Certificates | undefined): Promise<void> {
    const onDemand = certificates?.onDemand;
    this.serving = await Serving.listen(this.config, this.logger, {
      tls: certificates !== undefined,
      table: this.table,
      challenges: this.challenges,
      onDemand: onDemand && ((name) => onDemand.certificate(name)),
    });
  }

  async swap(next: Config): Promise<string[]> {
    await this.serving.swap(next);
    return [];
  }

  adminRoutes(): AdminRoute[] {
    return this.serving.current.adminRoutes;
  }

  async families(): Promise<MetricFamily[][]> {
    return [await this.serving.families()];
  }

  samples(): MetricSample[] {
    return [];
  }

  // the supervisor's report, for one process: the README's /health fields whatever the workers setting
  readonly processes = 1;
  readonly health: HealthReport = () => ({ status: 'ok', workers: { wanted: 1, ready: 1, pids: [process.pid], restarts: 0, crash_loop: false } });

  banner(): Pick<BannerFacts, 'listening' | 'sites'> {
    return { listening: this.serving.listening(), sites: siteLines(this.serving.current.router.sites) };
  }

  readyStatus(): string {
    return this.serving.listening().join(', ');
  }

  reopenLogs(): void {
    this.serving.reopenLogs();
  }

  stopping(graceMs: number): string {
    const pending = this.serving.inFlight;
    return pending > 0 ? `stopping: waiting up to ${graceMs / 1000}s for ${pending} request(s) in flight` : 'stopping';
  }

  async stop(graceMs: number): Promise<string> {
    const cut = await this.serving.stop(graceMs);
    return cut === 0 ? 'stopped' : `stopped: grace period over, ${cut} request(s) cut off`;
  }
}
