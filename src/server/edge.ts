// An edge instance: builds the request path from a validated Config, opens the listeners (plain
// HTTP, and HTTPS when a site has TLS), starts certificate management, and stops gracefully
// (stop accepting, drain in-flight requests within the grace period).

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Server } from 'node:http';
import type { Config } from '../config/schema.ts';
import { directoryUrl } from '../config/tls-schema.ts';
import { AccessLog } from '../ops/access-log.ts';
import { createAdminServer, type AdminRoute } from '../ops/admin.ts';
import { describeAdmin, listenAdmin, parseAdminAddress } from '../ops/admin-address.ts';
import { Logger } from '../ops/log.ts';
import type { MetricSource } from '../ops/metric-sample.ts';
import { LogSink } from '../ops/sink.ts';
import { AgentPool } from '../proxy/upstream.ts';
import { AcmeIssuer } from '../tls/acme.ts';
import { Challenges } from '../tls/challenges.ts';
import { CertManager } from '../tls/manager.ts';
import { OnDemand } from '../tls/on-demand.ts';
import { certificatePlan } from '../tls/plan.ts';
import { CertificateTable } from '../tls/sni.ts';
import { openStorage, storageLabel } from '../tls/storage/open.ts';
import { isRedisUrl } from '../tls/storage/redis-url.ts';
import { RedisStorage } from '../tls/storage/redis.ts';
import { Fleet } from '../tls/fleet.ts';
import type { Action } from './actions.ts';
import { buildAction, type BuildContext } from './build.ts';
import { RequestHandler } from './handler.ts';
import { HttpsListener } from './https.ts';
import { createHttpServer, displayAddress, listen } from './listeners.ts';
import { Router } from './router.ts';

export interface StartOptions {
  /** Where the config came from, for the banner. */
  source: string;
  version: string;
}

export class Edge {
  readonly config: Config;
  readonly logger: Logger;
  readonly certificates: CertManager | undefined;
  private readonly access: AccessLog | undefined;
  private readonly agents = new AgentPool();
  private readonly router: Router<Action>;
  private readonly http: RequestHandler;
  private readonly https: RequestHandler;
  private readonly challenges = new Challenges();
  private readonly table = new CertificateTable();
  private readonly servers: Server[] = [];
  private readonly secure: HttpsListener[] = [];
  private admin: Server | undefined;
  private onDemand: OnDemand | undefined;
  private adminLine = '';
  private stopping: Promise<void> | undefined;
  private readonly adminRoutes: AdminRoute[] = [];
  private readonly closers: (() => void)[] = [];
  /** Read by /metrics once the operations work exposes it. */
  readonly metrics: MetricSource[] = [];

  private constructor(config: Config) {
    this.config = config;
    this.logger = new Logger(new LogSink(config.log.error));
    this.access = config.log.access === 'off' ? undefined : new AccessLog(new LogSink(config.log.access), config.log.format);
    const plan = certificatePlan(config.sites);
    const ctx: BuildContext = { limits: config.limits, logger: this.logger, agents: this.agents, adminRoutes: this.adminRoutes, metrics: this.metrics, closers: this.closers };
    this.router = new Router<Action>(config.sites, (route) => buildAction(route, ctx));
    this.http = new RequestHandler(this.router, this.access, { scheme: 'http', challenges: this.challenges, httpsPort: config.https_port });
    this.https = new RequestHandler(this.router, this.access, { scheme: 'https', httpsPort: config.https_port });
    const onDemandSites = config.sites.filter((s) => s.tls === 'on_demand');
    if (plan.length > 0 || onDemandSites.length > 0) {
      const storage = openStorage(config.storage);
      const fleet = storage instanceof RedisStorage ? new Fleet(storage, this.challenges, this.logger) : undefined;
      this.closers.push(() => {
        fleet?.stop();
        storage.close?.();
      });
      const caRoot = config.acme.ca_root === undefined ? undefined : readFileSync(config.acme.ca_root, 'utf8');
      const acme = plan.some((p) => p.kind === 'acme') || onDemandSites.length > 0
        ? new AcmeIssuer({
            directoryUrl: directoryUrl(config.acme.ca),
            caRoot,
            email: config.acme.email,
            eab: config.acme.eab && { kid: config.acme.eab.kid, hmacKey: config.acme.eab.hmac_key },
            profile: config.acme.profile,
            challenges: config.acme.challenges,
          }, storage, this.challenges)
        : undefined;
      this.certificates = new CertManager({
        sources: plan,
        storage,
        table: this.table,
        logger: this.logger,
        acme,
        acmeCaRoot: caRoot,
        preflight: config.acme.preflight,
        onInstall: (cert) => {
          if (cert.names.some((n) => isIP(n))) for (const l of this.secure) l.setDefaultCertificate(cert);
        },
        onStored: fleet && ((name) => fleet.announce(name)),
      });
      fleet?.attach(this.certificates);
      const onDemand = config.acme.on_demand;
      if (onDemand) {
        const manager = this.certificates;
        this.onDemand = new OnDemand({
          ask: onDemand.ask,
          burst: onDemand.burst,
          intervalMs: onDemand.interval,
          covers: (name) => this.router.site(name)?.site.tls === 'on_demand',
          obtain: (name) => manager.addOnDemand(name),
        });
      }
    }
  }

  static async start(config: Config, opts: StartOptions): Promise<Edge> {
    const edge = new Edge(config);
    const hosts = config.bind.length > 0 ? config.bind : [undefined];
    try {
      for (const host of hosts) {
        const server = createHttpServer(config.limits, edge.http);
        await listen(server, config.http_port, host);
        edge.servers.push(server);
        if (edge.certificates) {
          const onDemand = edge.onDemand;
          const listener = new HttpsListener(config.limits, edge.https, edge.table, edge.challenges, onDemand && ((name) => onDemand.certificate(name)));
          await listen(listener.front, config.https_port, host);
          edge.secure.push(listener);
        }
      }
    } catch (err) {
      for (const server of edge.servers) server.close();
      for (const listener of edge.secure) listener.front.close();
      // e.g. a Redis connection, which would keep the process alive after the error
      for (const close of edge.closers) close();
      edge.agents.destroy();
      throw err;
    }
    // listeners first, since HTTP-01 validation needs the HTTP port answering; the banner once
    // stored certificates are installed, so "listening" means ready to serve them
    await edge.certificates?.start();
    await edge.startAdmin(opts);
    edge.logger.block(edge.banner(opts));
    return edge;
  }

  /** The admin endpoint is a convenience: if its address is taken, edge serves without it. */
  private async startAdmin(opts: StartOptions): Promise<void> {
    const address = parseAdminAddress(this.config.admin);
    if (!address) {
      this.adminLine = 'off';
      return;
    }
    const server = createAdminServer(
      { pid: process.pid, version: opts.version, config: opts.source, storage: storageLabel(this.config.storage) },
      this.certificates,
      this.logger,
      this.adminRoutes,
    );
    try {
      await listenAdmin(server, address);
      this.admin = server;
      this.adminLine = describeAdmin(address);
    } catch (err) {
      this.adminLine = `not started: ${describeAdmin(address)} ${(err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'is in use (another edge?)' : (err as Error).message}`;
      this.logger.warn(`admin endpoint ${this.adminLine}; edge certs cannot reach this instance`);
    }
  }

  /** Actual listening addresses, e.g. for tests that ask for port 0. */
  addresses(): { host: string; port: number }[] {
    return this.servers.map((s) => {
      const a = s.address();
      return typeof a === 'object' && a ? { host: a.address, port: a.port } : { host: '', port: 0 };
    });
  }

  reopenLogs(): void {
    this.access?.reopen();
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
    const pending = this.http.inFlight + this.https.inFlight;
    this.logger.info(pending > 0
      ? `stopping: waiting up to ${grace / 1000}s for ${pending} request(s) in flight`
      : 'stopping');
    this.certificates?.stop();
    this.admin?.close();
    this.admin?.closeAllConnections();
    for (const server of this.servers) {
      server.close();
      server.closeIdleConnections();
    }
    for (const listener of this.secure) listener.stopAccepting();
    // connections that finish a response while draining go idle; close them as they do
    const sweep = setInterval(() => this.servers.forEach((s) => s.closeIdleConnections()), 50);
    const [httpClean, httpsClean] = await Promise.all([this.http.drain(grace), this.https.drain(grace)]);
    clearInterval(sweep);
    for (const server of this.servers) server.closeAllConnections();
    for (const listener of this.secure) listener.closeAll();
    for (const close of this.closers) close();
    this.agents.destroy();
    const cut = this.http.inFlight + this.https.inFlight;
    this.logger.info(httpClean && httpsClean ? 'stopped' : `stopped: grace period over, ${cut} request(s) cut off`);
    this.access?.flushSync();
    this.logger.flushSync();
  }

  private banner(opts: StartOptions): string {
    const lines = [`edge ${opts.version} (Node ${process.versions.node}, pid ${process.pid}) config ${opts.source}`];
    const address = (s: { address(): unknown }) => {
      const a = s.address() as { address: string; port: number } | null;
      return a ? displayAddress(a.address, a.port) : '?';
    };
    for (const s of this.servers) lines.push(`  listening  http://${address(s)}`);
    for (const l of this.secure) lines.push(`  listening  https://${address(l.front)} (HTTP/2, HTTP/1.1)`);
    for (const site of this.router.sites) {
      const tls = site.site.tls;
      const mode = tls === 'off' ? 'http only' : typeof tls === 'object' ? `https, certificate ${tls.cert}` : `https, ${tls.replace('_', '-')} certificates`;
      lines.push(`  site       ${site.site.hosts.join(', ')} (${mode})`);
      const width = Math.max(...site.routes.map((r) => r.pattern.length));
      for (const r of site.routes) lines.push(`    ${r.pattern.padEnd(width)}  ${r.handler.describe()}`);
    }
    if (this.router.sites.length === 0) lines.push('  no sites configured: every request gets 404');
    if (this.certificates) lines.push(`  storage    ${isRedisUrl(this.config.storage) ? storageLabel(this.config.storage) : this.config.storage}`);
    lines.push(`  admin      ${this.adminLine}`);
    lines.push(`  access log ${this.access ? `${this.config.log.access} (${this.config.log.format})` : 'off'}`);
    return lines.join('\n');
  }
}
