// A stand-in app server as its own process, so tests can kill it like a crashed Gunicorn worker.
// Run as `node app-process.ts ADDRESS NAME MODE`: ADDRESS is a port or a Unix socket path, MODE
// one of ok (answers "NAME" to a GET, "NAME:BODY_BYTES" to others), hang (never answers),
// die-on-post (reads a POST's body, then exits), close-every-5 (drops each connection after its
// 5th response, without saying so).
// Prints "ready" once listening and "req METHOD URL" for each request; GET /health is 200.
// Imported, it exports startApp to run one.

import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface AppProcess {
  name: string;
  /** What to put in proxy.to. */
  address: string;
  proc: ChildProcess;
  /** "METHOD URL" of each request it logged (health checks left out). */
  requests(): string[];
  exited: Promise<void>;
  kill(): Promise<void>;
}

export async function startApp(name: string, where: number | string, mode = 'ok'): Promise<AppProcess> {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), String(where), name, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`app ${name} did not start`)), 10_000);
    proc.stdout!.on('data', () => {
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => reject(new Error(`app ${name} exited before it was ready`)));
  });
  return {
    name,
    address: typeof where === 'number' ? `127.0.0.1:${where}` : `unix:${where}`,
    proc,
    requests: () => out.split('\n').filter((l) => l.startsWith('req ') && !l.endsWith(' /health')).map((l) => l.slice(4)),
    exited,
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

function serve(where: string, name: string, mode: string): void {
  const perSocket = new WeakMap<object, number>();
  const server = createServer((req, res) => {
    process.stdout.write(`req ${req.method} ${req.url}\n`);
    if (req.url === '/health') {
      res.end('ok');
      return;
    }
    if (mode === 'hang') return;
    if (mode === 'die-on-post' && req.method === 'POST') {
      req.resume();
      req.on('end', () => process.exit(1));
      return;
    }
    let bytes = 0;
    req.on('data', (d: Buffer) => (bytes += d.length));
    req.on('end', () => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      // a body's size comes back, so a test can see a replayed body arrive whole
      const answer = req.method === 'GET' ? name : `${name}:${bytes}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
      // dropped without Connection: close, as an app with a short keep-alive timeout would
      if (mode === 'close-every-5' && n % 5 === 0) res.on('finish', () => setImmediate(() => req.socket.destroy()));
    });
  });
  if (/^\d+$/.test(where)) {
    server.listen(Number(where), '127.0.0.1', () => process.stdout.write('ready\n'));
  } else {
    rmSync(where, { force: true });
    server.listen(where, () => process.stdout.write('ready\n'));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) serve(process.argv[2]!, process.argv[3]!, process.argv[4] ?? 'ok');
