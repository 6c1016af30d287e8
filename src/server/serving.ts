// The serving half of edge, the part every worker runs: the listeners (plain HTTP, and HTTPS when
// a site has TLS), the request handlers, the current config's generation and the swap to a new
// one, the certificate table and challenge answers the handshakes read, and the graceful stop.
// Certificates and config come from outside: the same process (one-process edge) or the
// supervisor over IPC (workers).

import type { Server } from 'node:http';
import type { Config } from '../config/schema.ts';
import { AccessLog } from '../ops/access-log.ts';
import type { Logger } from '../ops/log.ts';
import { RequestMetrics, type MetricFamily } from '../ops/metrics.ts';
import { LogSink } from '../ops/sink.ts';
import { watchFileLimit } from '../ops/open-files.ts';
import type { Challenges } from '../tls/challenges.ts';
import type { CertificateTable } from '../tls/sni.ts';
import { loadActions, type ActionModules } from './build.ts';
import { Generation } from './generation.ts';
import { RequestHandler } from './handler.ts';
import { HttpsListener } from './https.ts';
import { expectProxyHeader } from './proxy-protocol.ts';
import type { TrustedProxies } from '../http/client-address.ts';
import { InFlight } from './in-flight.ts';
import { createHttpServer, displayAddress, listen } from './listeners.ts';

/** Access-log lines reach the file or stdout at most this long after their request: one write for many. */
const ACCESS_BATCH_MS = 100;

export interface ServingOptions {
  /** Open the HTTPS listener (some site has TLS). */
  tls: boolean;
  /** Certificates by server name, and pending ACME challenges, as whoever manages them fills them in. */
  table: CertificateTable;
  challenges: Challenges;
  /** Finds a certificate for a name the table lacks, while the handshake waits (on-demand TLS). */
  onDemand?: (name: string) => Promise<void>;
}

export class Serving {
  readonly requestMetrics = new RequestMetrics();
  /** The config the listeners were opened with (ports, limits, logs): a reload cannot change it. */
  readonly config: Config;
  private generation: Generation;
  private readonly logger: Logger;
  private readonly all = new InFlight();
  private readonly access: AccessLog | undefined;
  private readonly http: RequestHandler;
  private readonly https: RequestHandler;
  private readonly servers: Server[] = [];
  private readonly secure: HttpsListener[] = [];
  private stopping: Promise<number> | undefined;
  private readonly unwatchFiles: () => void;

  private constructor(config: Config, logger: Logger, challenges: Challenges, modules: ActionModules) {
    this.config = config;
    this.logger = logger;
    this.generation = new Generation(config, logger, modules);
    this.access = config.log.access === 'off' ? undefined : new AccessLog(new LogSink(config.log.access, ACCESS_BATCH_MS), config.log.format);
    const metrics = this.requestMetrics;
    this.http = new RequestHandler(this.generation, this.all, this.access, { scheme: 'http', challenges, httpsPort: config.https_port, metrics });
    this.https = new RequestHandler(this.generation, this.all, this.access, { scheme: 'https', httpsPort: config.https_port, metrics, maxHeaderSize: config.limits.max_header_size });
    this.unwatchFiles = watchFileLimit(logger);
  }

  static async listen(config: Config, logger: Logger, opts: ServingOptions): Promise<Serving> {
    const serving = new Serving(config, logger, opts.challenges, await loadActions(config));
    const hosts = config.bind.length > 0 ? config.bind : [undefined];
    try {
      for (const host of hosts) {
        const server = createHttpServer(config.limits, serving.http);
        if (config.proxy_protocol) expectProxyHeader(server, serving.trust);
        await listen(server, config.http_port, host, logger);
        serving.servers.push(server);
        if (opts.tls) {
          const listener = new HttpsListener(config.limits, serving.https, opts.table, opts.challenges, opts.onDemand);
          if (config.proxy_protocol) expectProxyHeader(listener.front, serving.trust);
          await listen(listener.front, config.https_port, host, logger);
          serving.secure.push(listener);
        }
      }
    } catch (err) {
      for (const server of serving.servers) server.close();
      for (const listener of serving.secure) listener.front.close();
      void serving.generation.retire(0);
      serving.unwatchFiles();
      throw err;
    }
    return serving;
  }

  /** The trusted_proxies of the config in force, for PROXY headers on new connections. */
  private readonly trust = (): TrustedProxies | undefined => this.generation.trust;

  get current(): Generation {
    return this.generation;
  }

  /**
   * New requests go to `config` from now on; those under way, and WebSockets, finish on the old
   * one, which is closed once they are done (or cut after grace_period).
   */
  async swap(config: Config): Promise<Generation> {
    const modules = await loadActions(config);
    const old = this.generation;
    const next = new Generation(config, this.logger, modules, old);
    this.generation = next;
    this.http.current = next;
    this.https.current = next;
    const pending = old.inFlight.count;
    void old.retire(config.grace_period).then((clean) => {
      if (pending > 0 || !clean) this.logger.info(clean ? 'previous config retired: its requests finished' : `previous config retired: grace period over, ${old.inFlight.count} request(s) cut off`);
    });
    return next;
  }

  /** The certificate for handshakes without a server name (clients that connect by IP address). */
  setDefaultCertificate(cert: { certPem: string; keyPem: string }): void {
    for (const l of this.secure) l.setDefaultCertificate(cert);
  }

  /** This process's numbers for /metrics. */
  families(): Promise<MetricFamily[]> {
    return this.requestMetrics.families(this.generation.metrics);
  }

  /** Actual listening addresses, e.g. for tests that ask for port 0. */
  addresses(): { host: string; port: number }[] {
    return this.servers.map((s) => {
      const a = s.address();
      return typeof a === 'object' && a ? { host: a.address, port: a.port } : { host: '', port: 0 };
    });
  }

  listening(): string[] {
    const address = (s: { address(): unknown }) => {
      const a = s.address() as { address: string; port: number } | null;
      return a ? displayAddress(a.address, a.port) : '?';
    };
    return [
      ...this.servers.map((s) => `http://${address(s)}`),
      ...this.secure.map((l) => `https://${address(l.front)} (HTTP/2, HTTP/1.1)`),
    ];
  }

  reopenLogs(): void {
    this.access?.reopen();
  }

  /** Stops accepting, lets in-flight requests finish within grace_period, then closes everything. Resolves with how many were cut off. */
  stop(grace = this.config.grace_period): Promise<number> {
    this.stopping ??= this.drain(grace);
    return this.stopping;
  }

  get inFlight(): number {
    return this.all.count;
  }

  private async drain(grace: number): Promise<number> {
    this.http.draining = true;
    this.https.draining = true;
    for (const server of this.servers) {
      server.close();
      server.closeIdleConnections();
    }
    for (const listener of this.secure) listener.stopAccepting();
    // connections that finish a response while draining go idle; close them as they do
    const sweep = setInterval(() => this.servers.forEach((s) => s.closeIdleConnections()), 50);
    const clean = await this.all.idle(grace);
    const cut = clean ? 0 : this.all.count;
    clearInterval(sweep);
    this.unwatchFiles();
    for (const server of this.servers) server.closeAllConnections();
    for (const listener of this.secure) listener.closeAll();
    await this.generation.retire(0);
    this.access?.flushSync();
    return cut;
  }
}
