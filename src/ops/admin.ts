// The admin endpoint: a small HTTP API on loopback (or a Unix socket) for `edge certs` and health
// checks. It answers only requests addressed to a loopback name, so a web page cannot reach it
// through DNS rebinding, and changes state only for requests no browser marks as cross-site.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import type { CertManager, ManagedState } from '../tls/manager.ts';
import type { Logger } from './log.ts';
import { crossSiteReason } from './admin-origin.ts';

export interface AdminIdentity {
  pid: number;
  version: string;
  config: string;
  storage: string;
}

/** An endpoint contributed by a part of edge that keeps state (upstream pools, the cache). */
export interface AdminRoute {
  method: 'GET' | 'POST';
  path: string;
  /** The answer's status and JSON body; `query` holds the URL's parameters. */
  handle(query: URLSearchParams): Promise<AdminAnswer> | AdminAnswer;
}

export interface AdminAnswer {
  status: number;
  /** Sent as JSON, or as it is when `contentType` is set (a string). */
  body: unknown;
  contentType?: string;
}

export interface CertView {
  name: string;
  source: string;
  issuer?: string;
  notAfter?: string;
  renewAt?: string;
  nextAttempt?: string;
  lastError?: string;
}

export function certView(state: ManagedState): CertView {
  return {
    name: state.name,
    source: state.source,
    issuer: state.cert?.issuer,
    notAfter: state.cert?.notAfter.toISOString(),
    renewAt: state.renewAt?.toISOString(),
    nextAttempt: state.nextAttempt?.toISOString(),
    lastError: state.lastError,
  };
}

const LOOPBACK_HOST = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i;

/** `routes` is asked on each request: a reload replaces the routes the config's actions contribute. */
/** What /health adds to the identity; `status: 'down'` answers 503. */
export type HealthReport = () => { status: 'ok' | 'degraded' | 'down'; [key: string]: unknown };

export function createAdminServer(identity: AdminIdentity, certificates: CertManager | undefined, logger: Logger, routes: () => readonly AdminRoute[] = () => [], health?: HealthReport): Server {
  const send = (res: ServerResponse, status: number, body: unknown, contentType?: string) => {
    const text = contentType ? String(body) : `${JSON.stringify(body, null, 2)}\n`;
    res.writeHead(status, { 'content-type': contentType ?? 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  };
  // the file as an absolute path, so that `edge check -c FILE` can tell its own running edge
  const configFile = identity.config === 'command line' ? null : resolve(identity.config);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // the target is taken as a path whatever it looks like: "//host:port" would be a URL's authority
    const url = new URL(`http://admin${req.url?.startsWith('/') ? req.url : '/'}`);
    if (req.socket.remoteFamily !== undefined && !LOOPBACK_HOST.test(req.headers.host ?? '')) {
      send(res, 403, { error: 'the admin endpoint answers only requests addressed to localhost' });
      return;
    }
    const crossSite = crossSiteReason(req);
    if (crossSite) {
      logger.error(`admin: ${req.method} ${url.pathname} refused: ${crossSite} (a web page's request?)`);
      send(res, 403, { error: 'the admin endpoint changes nothing for requests from another origin' });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/health') {
      const report = health?.() ?? { status: 'ok' };
      send(res, report.status === 'down' ? 503 : 200, { ...identity, config_file: configFile, ...report });
    } else if (req.method === 'GET' && url.pathname === '/certs') {
      send(res, 200, { ...identity, certificates: certificates?.states().map(certView) ?? [] });
    } else if (req.method === 'POST' && url.pathname === '/certs/renew') {
      const name = url.searchParams.get('name') ?? '';
      if (!certificates) {
        send(res, 404, { error: 'this edge manages no certificates' });
        return;
      }
      try {
        logger.info(`admin: renewal of ${name} requested`);
        await certificates.renew(name);
        send(res, 200, certView(certificates.states().find((s) => s.name === name)!));
      } catch (err) {
        send(res, 409, { error: (err as Error).message });
      }
    } else {
      const current = routes();
      const route = current.find((r) => r.method === req.method && r.path === url.pathname);
      if (!route) {
        const known = ['GET /health', 'GET /certs', 'POST /certs/renew?name=NAME', ...current.map((r) => `${r.method} ${r.path}`)];
        send(res, 404, { error: `no ${req.method} ${url.pathname} here; try ${known.join(', ')}` });
        return;
      }
      try {
        const answer = await route.handle(url.searchParams);
        send(res, answer.status, answer.body, answer.contentType);
      } catch (err) {
        logger.error(`admin: ${req.method} ${url.pathname} failed: ${(err as Error).message}`);
        send(res, 500, { error: (err as Error).message });
      }
    }
  };
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    // whatever a request makes go wrong is this request's answer, never the process's end
    handle(req, res).catch((err: Error) => {
      logger.error(`admin: ${req.method} ${req.url} failed: ${err.message}`);
      if (!res.headersSent) send(res, 500, { error: err.message });
      else res.destroy();
    });
  });
}
