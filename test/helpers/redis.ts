// A real redis-server for tests: its own temp dir, a free high port and a Unix socket, append-only
// persistence so a stop and start keeps the data (as a production Redis with AOF does). With
// `tls`, the port speaks only TLS, with a certificate for 127.0.0.1 from a throwaway local CA.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './edge.ts';
import { LocalCA } from '../../src/tls/local-ca.ts';
import { FsStorage } from '../../src/tls/storage/fs.ts';

export interface RedisServer {
  port: number;
  socket: string;
  /** redis://127.0.0.1:PORT/0, or with `tls` rediss://127.0.0.1:PORT/0?ca=ROOT */
  url: string;
  /** With `tls`: the PEM file of the root that signed the server's certificate. */
  caFile?: string;
  /** redis+unix:///…/redis.sock */
  unixUrl: string;
  /** Stops the server (SIGTERM, or SIGKILL) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port, socket and data. */
  start(): Promise<void>;
  output(): string;
  /** Stops it and removes its folder. */
  destroy(): Promise<void>;
}

function ping(port: number, ca?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const send = () => s.write('PING\r\n');
    const s: Socket = ca === undefined ? connect(port, '127.0.0.1', send) : tlsConnect({ port, host: '127.0.0.1', ca }, send);
    s.on('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.on('error', () => resolve(false));
  });
}

export async function startRedis(opts: { tls?: boolean } = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-redis-'));
  const port = await freePort();
  const socket = join(dir, 'redis.sock');
  let ca: string | undefined;
  const tlsArgs: string[] = [];
  if (opts.tls) {
    const local = await LocalCA.load(new FsStorage(join(dir, 'ca')));
    const leaf = await local.issue(['localhost', '127.0.0.1']);
    ca = local.rootPem;
    writeFileSync(join(dir, 'cert.pem'), leaf.certPem);
    writeFileSync(join(dir, 'key.pem'), leaf.keyPem);
    writeFileSync(join(dir, 'root.pem'), ca);
    tlsArgs.push('--tls-port', String(port), '--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'), '--tls-auth-clients', 'no');
  }
  let proc: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    proc = spawn('redis-server', [
      '--port', opts.tls ? '0' : String(port), ...tlsArgs, '--bind', '127.0.0.1', '--unixsocket', socket, '--unixsocketperm', '700',
      '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no',
      '--loglevel', 'warning',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (log += d));
    proc.stderr!.on('data', (d) => (log += d));
    const deadline = Date.now() + 10_000;
    while (!(await ping(port, ca))) {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`redis-server did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = (signal: NodeJS.Signals = 'SIGTERM') => new Promise<void>((resolve) => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once('exit', () => resolve());
    p.kill(signal);
  });
  await start();
  return {
    port,
    socket,
    url: opts.tls ? `rediss://127.0.0.1:${port}/0?ca=${join(dir, 'root.pem')}` : `redis://127.0.0.1:${port}/0`,
    ...(opts.tls ? { caFile: join(dir, 'root.pem') } : {}),
    unixUrl: `redis+unix://${socket}`,
    stop,
    start,
    output: () => log,
    destroy: async () => {
      await stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
