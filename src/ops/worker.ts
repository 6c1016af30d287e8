// A worker process: serves requests with the config, certificates and challenge answers the
// supervisor sends, swaps config when told, answers its questions (metrics, admin routes), and
// drains and exits when told to stop or when the supervisor is gone. Signals are the
// supervisor's business: a Ctrl-C reaches the whole process group, and only the supervisor acts.

import { isIP } from 'node:net';
import type { Config } from '../config/schema.ts';
import { Serving } from '../server/serving.ts';
import { siteLines } from '../server/banner.ts';
import { Challenges } from '../tls/challenges.ts';
import { secureContext } from '../tls/context.ts';
import { CertificateTable } from '../tls/sni.ts';
import { usesTls } from '../tls/plan.ts';
import { openStorage } from '../tls/storage/open.ts';
import { isRedisUrl } from '../tls/storage/redis-url.ts';
import { ignoreSendError, Rpc, type AdminRouteKey, type ToSupervisor, type ToWorker, type WorkerQuestion } from './ipc.ts';
import { Logger } from './log.ts';
import { LogSink } from './sink.ts';

export function runWorker(): void {
  const rpc = new Rpc(process as unknown as { send(m: unknown, cb: (err: Error | null) => void): boolean });
  const table = new CertificateTable();
  const challenges = new Challenges();
  let serving: Serving | undefined;
  let logger: Logger | undefined;
  let ipCert: { certPem: string; keyPem: string } | undefined;
  // a supervisor gone is noticed by 'disconnect' below
  const tell = (m: ToSupervisor) => process.send!(m, ignoreSendError);
  const sharedFailed = (err: Error) => logger?.warn(`worker ${process.pid}: cannot write a challenge answer to shared storage: ${err.message}`);
  const routes = (): AdminRouteKey[] => serving!.current.adminRoutes.map(({ method, path }) => ({ method, path }));

  const stop = async (code: number) => {
    if (serving) await serving.stop();
    logger?.flushSync();
    process.exit(code);
  };

  const answer = async (q: WorkerQuestion): Promise<unknown> => {
    if (!serving) throw new Error('not serving yet');
    switch (q.q) {
      case 'config':
        await serving.swap(q.config);
        return routes();
      case 'metrics':
        return serving.families();
      case 'admin': {
        const route = serving.current.adminRoutes.find((r) => r.method === q.method && r.path === q.path);
        if (!route) return { status: 404, body: { error: `no ${q.method} ${q.path} here` } };
        return route.handle(new URLSearchParams(q.query));
      }
    }
  };

  const start = async (config: Config) => {
    logger = new Logger(new LogSink(config.log.error));
    // in a fleet, a challenge another instance placed is answered from shared storage
    if (usesTls(config) && isRedisUrl(config.storage)) challenges.share(openStorage(config.storage));
    try {
      serving = await Serving.listen(config, logger, {
        tls: usesTls(config),
        table,
        challenges,
        onDemand: async (name) => {
          const a = await rpc.ask({ q: 'on-demand', name }, 120_000);
          if (a.error) throw new Error(a.error);
        },
      });
    } catch (err) {
      tell({ t: 'failed', message: (err as Error).message });
      process.exit(1);
    }
    if (ipCert) serving.setDefaultCertificate(ipCert);
    tell({ t: 'ready', listening: serving.listening(), sites: siteLines(serving.current.router.sites), routes: routes() });
  };

  process.on('message', (message: unknown) => {
    if (rpc.receive(message, answer as (q: never) => Promise<unknown>)) return;
    const m = message as ToWorker;
    switch (m.t) {
      case 'start':
        void start(m.config);
        break;
      case 'cert':
        table.set(m.names, secureContext(m));
        if (m.ip || m.names.some((n) => isIP(n))) {
          ipCert = m;
          serving?.setDefaultCertificate(m);
        }
        break;
      case 'uncert':
        table.delete(m.names);
        break;
      // in a fleet these also write shared storage, which may be down: a rejection nobody
      // handled would stop the worker
      case 'http01':
        if (m.keyAuthorization === undefined) void challenges.deleteHttp(m.token);
        else challenges.setHttp(m.token, m.keyAuthorization).catch(sharedFailed);
        break;
      case 'alpn':
        if (m.cert === undefined) void challenges.deleteAlpn(m.name);
        else challenges.setAlpn(m.name, m.cert).catch(sharedFailed);
        break;
      case 'reopen':
        serving?.reopenLogs();
        logger?.reopen();
        break;
      case 'stop':
        void stop(0);
        break;
    }
  });
  // the supervisor went away (killed): finish what is in flight, then go too
  process.on('disconnect', () => void stop(0));
  // the channel's errors (node:cluster's own messages, sent without a callback, as it closes)
  process.on('error', (err: Error) => logger?.warn(`worker ${process.pid}: supervisor channel: ${err.message}`));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1'] as const) process.on(signal, () => {});
  process.on('uncaughtException', (err) => {
    logger?.error(`internal error in worker ${process.pid}, exiting: ${err.stack ?? err.message}`);
    logger?.flushSync();
    process.exit(70);
  });
}
