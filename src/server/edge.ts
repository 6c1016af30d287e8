// An edge instance: builds the request path from a validated Config, opens the listeners, and
// stops gracefully (stop accepting, drain in-flight requests within the grace period).

import type { Server } from 'node:http';
import type { Config, Route } from '../config/schema.ts';
import { AccessLog } from '../ops/access-log.ts';
import { Logger } from '../ops/log.ts';
import { LogSink } from '../ops/sink.ts';
import { ProxyHandler } from '../proxy/forward.ts';
import { AgentPool } from '../proxy/upstream.ts';
import { RedirectAction, RespondAction, type Action } from './actions.ts';
import { RequestHandler } from './handler.ts';
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
  private readonly access: AccessLog | undefined;
  private readonly agents = new AgentPool();
  private readonly handler: RequestHandler;
  private readonly servers: Server[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(config: Config) {
    this.config = config;
    this.logger = new Logger(new LogSink(config.log.error));
    this.access = config.log.access === 'off' ? undefined : new AccessLog(new LogSink(config.log.access), config.log.format);
    const ctx = { limits: config.limits, logger: this.logger, agents: this.agents, proto: 'http' as const };
    const router = new Router<Action>(config.sites, (route) => buildAction(route, ctx));
    this.handler = new RequestHandler(router, this.access);
  }

  static async start(config: Config, opts: StartOptions): Promise<Edge> {
    const edge = new Edge(config);
    const hosts = config.bind.length > 0 ? config.bind : [undefined];
    try {
      for (const host of hosts) {
        const server = createHttpServer(config.limits, edge.handler);
        await listen(server, config.http_port, host);
        edge.servers.push(server);
      }
    } catch (err) {
      for (const server of edge.servers) server.close();
      edge.agents.destroy();
      throw err;
    }
    edge.logger.block(edge.banner(opts));
    return edge;
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
    const pending = this.handler.inFlight;
    this.logger.info(pending > 0
      ? `stopping: waiting up to ${grace / 1000}s for ${pending} request(s) in flight`
      : 'stopping');
    for (const server of this.servers) {
      server.close();
      server.closeIdleConnections();
    }
    // connections that finish a response while draining go idle; close them as they do
    const sweep = setInterval(() => this.servers.forEach((s) => s.closeIdleConnections()), 50);
    const clean = await this.handler.drain(grace);
    clearInterval(sweep);
    for (const server of this.servers) server.closeAllConnections();
    this.agents.destroy();
    this.logger.info(clean ? 'stopped' : `stopped: grace period over, ${this.handler.inFlight} request(s) cut off`);
    this.access?.flushSync();
    this.logger.flushSync();
  }

  private banner(opts: StartOptions): string {
    const lines = [`edge ${opts.version} (Node ${process.versions.node}, pid ${process.pid}) config ${opts.source}`];
    for (const s of this.servers) {
      const a = s.address();
      if (typeof a === 'object' && a) lines.push(`  listening  http://${displayAddress(a.address, a.port)}`);
    }
    for (const site of this.handler.router.sites) {
      lines.push(`  site       ${site.site.hosts.join(', ')}`);
      const width = Math.max(...site.routes.map((r) => r.pattern.length));
      for (const r of site.routes) lines.push(`    ${r.pattern.padEnd(width)}  ${r.handler.describe()}`);
    }
    if (this.handler.router.sites.length === 0) lines.push('  no sites configured: every request gets 404');
    lines.push(`  access log ${this.access ? `${this.config.log.access} (${this.config.log.format})` : 'off'}`);
    return lines.join('\n');
  }
}

function buildAction(route: Route, ctx: ConstructorParameters<typeof ProxyHandler>[2]): Action {
  if (route.proxy) return new ProxyHandler(route, route.proxy, ctx);
  if (route.redirect) return new RedirectAction(route.redirect);
  return new RespondAction(route.respond!);
}
