// A real nginx for tests, run from a config in a temp folder (pid, logs and temp paths inside
// it), in the foreground, on 127.0.0.1 high ports.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

/** The main-context and http-context lines every test nginx needs, all paths under `dir`. */
export function nginxPreamble(dir: string): { main: string; http: string } {
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  return {
    main: `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nworker_processes 1;\nevents { worker_connections 64; }\n`,
    http: ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/tmp/${t};`).join('\n')
      + `\naccess_log ${dir}/access.log;\n`,
  };
}

export interface NginxProcess {
  proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts nginx on `conf` (its prefix is the file's folder) and waits until `port` accepts. */
export async function startNginx(conf: string, text: string | undefined, port: number): Promise<NginxProcess> {
  if (text !== undefined) writeFileSync(conf, text);
  const dir = join(conf, '..');
  const test = spawnSync(NGINX!, ['-t', '-p', dir, '-c', conf], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx -t refused ${conf}:\n${test.stderr}`);
  const proc = spawn(NGINX!, ['-p', dir, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  const deadline = Date.now() + 10_000;
  while (!(await accepts(port))) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`nginx did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    output: () => output,
    stop: () => new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGQUIT');
    }),
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}
