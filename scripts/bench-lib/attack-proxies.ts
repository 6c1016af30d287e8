// The two proxies scripts/attacks puts side by side: Debian's nginx and edge, each with a
// throwaway config in the work folder, on high loopback ports, plain HTTP and HTTPS (HTTP/2 and
// HTTP/1.1, the same self-signed certificate), in front of the same upstream, with a combined
// access log to a file. A proxy that an attack killed is started again before the next attack,
// so one crash does not hide the other results. Every pid started is written to WORK/pids so the
// bash entry can clean up after a driver that was itself killed.

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';

export const HOST = 'attack.test';

export interface ProxyOptions {
  work: string;
  root: string;
  upstreamPort: number;
  httpPort: number;
  httpsPort: number;
}

export class Proxy {
  readonly name: 'nginx' | 'edge';
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly accessLog: string;
  readonly output: string;
  private readonly opts: ProxyOptions;
  private proc: ChildProcess | undefined;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  starts = 0;

  constructor(name: 'nginx' | 'edge', opts: ProxyOptions) {
    this.name = name;
    this.opts = opts;
    this.httpPort = opts.httpPort;
    this.httpsPort = opts.httpsPort;
    this.accessLog = join(opts.work, `${name}-access.log`);
    this.output = join(opts.work, `${name}.out`);
    if (name === 'nginx') writeNginxConf(opts, this.accessLog);
    else writeEdgeConf(opts, this.accessLog);
  }

  alive(): boolean {
    return this.proc !== undefined && this.exit === undefined;
  }

  /** "exit code 70" or "signal SIGSEGV", with the last error-looking line of its output. */
  howItDied(): string {
    if (!this.exit) return 'running';
    const how = this.exit.signal ? `signal ${this.exit.signal}` : `exit code ${this.exit.code}`;
    const lines = readFileSync(this.output, 'utf8').split('\n').filter((l) => /error|fatal|exception/i.test(l));
    const last = lines.at(-1);
    return last ? `${how}: ${messageOf(last).split('\n')[0]!.slice(0, 120)}` : how;
  }

  async start(): Promise<void> {
    const { work, root } = this.opts;
    const [cmd, args] = this.name === 'nginx'
      ? ['nginx', ['-e', join(work, 'nginx-error.log'), '-p', work, '-c', join(work, 'nginx.conf')]]
      : [process.execPath, [join(root, 'bin/edge.js'), 'run', '-c', join(work, 'edge.yaml')]];
    const out = openSync(this.output, 'a');
    this.exit = undefined;
    const proc = spawn(cmd, args, { cwd: work, stdio: ['ignore', out, out] });
    this.proc = proc;
    this.starts++;
    proc.on('error', () => {});
    proc.on('exit', (code, signal) => {
      if (this.proc === proc) this.exit = { code, signal };
    });
    if (proc.pid) appendFileSync(join(work, 'pids'), `${proc.pid}\n`);
    for (let i = 0; i < 150; i++) {
      if (!this.alive()) throw new Error(`${this.name} exited during startup (${this.howItDied()}); see ${this.output}`);
      if ((await this.get('/')) === 200) return;
      await sleep(100);
    }
    throw new Error(`${this.name} did not answer 200 on port ${this.httpPort} within 15 s; see ${this.output}`);
  }

  /** Starts it again if an attack killed it; true if it had to. */
  async revive(): Promise<boolean> {
    if (this.alive()) return false;
    await this.start();
    return true;
  }

  /** Status of a plain-HTTP GET, or 0 when no answer came within 2 s. */
  get(path: string, headers: http.OutgoingHttpHeaders = {}): Promise<number> {
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: this.httpPort, path, headers: { host: HOST, ...headers }, agent: false, timeout: 2000 }, (res) => {
        res.resume();
        res.on('error', () => {});
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(0));
    });
  }

  /** The status its access log gave the request for `path`, if a line for it is there yet. */
  loggedStatus(path: string): string | undefined {
    if (!existsSync(this.accessLog)) return undefined;
    const line = readFileSync(this.accessLog, 'utf8').split('\n').find((l) => l.includes(` ${path} `));
    return line?.match(/" (\d{3}) /)?.[1];
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.alive()) return;
    const gone = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }

  /** Synchronous last resort on the way out (process 'exit' handlers cannot wait). */
  kill(): void {
    if (this.alive()) this.proc!.kill('SIGKILL');
  }
}

/** edge's error log is JSON lines when not on a terminal: the message of one, else the line itself. */
function messageOf(line: string): string {
  try {
    const msg = (JSON.parse(line) as { msg?: unknown }).msg;
    return typeof msg === 'string' ? msg : line;
  } catch {
    return line;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function writeNginxConf(o: ProxyOptions, accessLog: string): void {
  const tmp = join(o.work, 'nginx-tmp');
  mkdirSync(tmp, { recursive: true });
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${tmp}/${t};`).join('\n');
  writeFileSync(join(o.work, 'nginx.conf'), `${process.getuid?.() === 0 ? 'user root;\n' : ''}worker_processes 1;
daemon off;
pid ${o.work}/nginx.pid;
error_log ${o.work}/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log ${accessLog} combined;
${temps}
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${o.httpPort};
    listen 127.0.0.1:${o.httpsPort} ssl http2;
    server_name ${HOST};
    ssl_certificate ${o.work}/cert.pem;
    ssl_certificate_key ${o.work}/key.pem;
    location / {
      proxy_pass http://127.0.0.1:${o.upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
    }
  }
}
`);
}

function writeEdgeConf(o: ProxyOptions, accessLog: string): void {
  writeFileSync(join(o.work, 'edge.yaml'), `http_port: ${o.httpPort}
https_port: ${o.httpsPort}
bind: 127.0.0.1
admin: off
storage: ${o.work}/edge-storage
log: { access: ${accessLog}, format: combined }
sites:
  - hosts: [${HOST}]
    tls: { cert: ${o.work}/cert.pem, key: ${o.work}/key.pem }
    https_redirect: false
    routes:
      - proxy: { to: 127.0.0.1:${o.upstreamPort} }
`);
}
