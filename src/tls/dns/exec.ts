// The exec DNS provider: a command of the user's publishes and removes the TXT records, run as
// COMMAND present NAME VALUE and COMMAND cleanup NAME VALUE (lego's exec provider, certbot's manual
// hooks). It runs without a shell, bounded in time; a failure says its exit status and stderr.

import { spawn } from 'node:child_process';
import type { DnsProvider } from './provider.ts';

/** Enough of stderr to say what went wrong, never all of a runaway script's output. */
const STDERR_LIMIT = 4096;

export class ExecProviderError extends Error {
  readonly code = 'EDNSEXEC';
  constructor(message: string) {
    super(message);
    this.name = 'ExecProviderError';
  }
}

export class ExecProvider implements DnsProvider {
  private readonly command: string;
  private readonly timeoutMs: number;

  constructor(opts: { command: string; timeoutMs: number }) {
    this.command = opts.command;
    this.timeoutMs = opts.timeoutMs;
  }

  describe(): string {
    return `exec ${this.command}`;
  }

  present(name: string, value: string): Promise<void> {
    return this.run('present', name, value);
  }

  cleanup(name: string, value: string): Promise<void> {
    return this.run('cleanup', name, value);
  }

  private run(action: string, name: string, value: string): Promise<void> {
    const what = `${this.command} ${action} ${name} ${value}`;
    return new Promise((resolve, reject) => {
      const child = spawn(this.command, [action, name, value], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      let timedOut = false;
      child.stderr!.on('data', (d: Buffer) => {
        if (stderr.length < STDERR_LIMIT) stderr += d.toString('utf8').slice(0, STDERR_LIMIT - stderr.length);
      });
      child.stderr!.on('error', () => {});
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, this.timeoutMs);
      const said = () => (stderr.trim() ? `: ${stderr.trim().split('\n').join(' / ')}` : ' (nothing on stderr)');
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new ExecProviderError(`DNS exec provider: cannot run ${this.command} (${err.message})`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) reject(new ExecProviderError(`DNS exec provider: ${what} did not finish in ${this.timeoutMs / 1000} s, stopped${said()}`));
        else if (code === 0) resolve();
        else reject(new ExecProviderError(`DNS exec provider: ${what} exited with ${code !== null ? `status ${code}` : `signal ${signal}`}${said()}`));
      });
    });
  }
}
