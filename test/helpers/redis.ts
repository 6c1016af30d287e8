// A real redis-server for tests: its own temp dir, a free high port and a Unix socket, append-only
// persistence so a stop and start keeps the data (as a production Redis with AOF does).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './edge.ts';

export interface RedisServer {
  port: number;
  socket: string;
  /** redis://127.0.0.1:PORT/0 */
  url: string;
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

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.on('error', () => resolve(false));
  });
}

export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-redis-'));
  const port = await freePort();
  const socket = join(dir, 'redis.sock');
  let proc: ChildProcess | undefined;
  let log = '';
  const start = async () => {
    proc = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--unixsocket', socket, '--unixsocketperm', '700',
      '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no',
      '--loglevel', 'warning',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (log += d));
    proc.stderr!.on('data', (d) => (log += d));
    const deadline = Date.now() + 10_000;
    while (!(await ping(port))) {
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
    url: `redis://127.0.0.1:${port}/0`,
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
