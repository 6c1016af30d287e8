// Starts edge as a real child process (bin/edge.js) and talks to it over real sockets.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/edge.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface EdgeProcess {
  proc: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process ends. */
  exited: Promise<number | null>;
  /** Resident memory now and at its peak, in bytes (Linux /proc). */
  memory(): { rss: number; peak: number };
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Ports handed to tests come from below Linux's ephemeral range (32768-60999): a port the kernel
 * picks for "port 0" is the kind it also gives outgoing connections, so between this check and
 * the test's own listen, a connection from any test running beside it could take it
 * (EADDRINUSE). Picked at random, so parallel test files rarely try the same one.
 */
const PORTS = { from: 20_000, to: 32_000 };

export async function freePort(): Promise<number> {
  for (;;) {
    const port = PORTS.from + Math.floor(Math.random() * (PORTS.to - PORTS.from));
    if (await bindable(port)) return port;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Polls `cond` every 20 ms for up to `ms`; fails the test with `what` (or what it returns) if it never holds. */
export async function waitFor(cond: () => boolean, what: string | (() => string), ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs edge to completion (check, version, bad configs): exit code and output. */
export function runEdge(args: string[], opts: { cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Starts a long-running edge; `args` may hold "{port}", replaced by a free port. Resolves once the
 * banner says it listens; rejects with its output if it exits first. `wrap` runs it under a
 * command that execs it in turn (prlimit --nofile=64:64).
 */
export async function startEdge(args: string[], opts: { cwd?: string; port?: number; startMs?: number; wrap?: string[] } = {}): Promise<EdgeProcess> {
  const port = opts.port ?? (await freePort());
  const [command, ...prefix] = [...(opts.wrap ?? []), process.execPath];
  const proc = spawn(command!, [...prefix, BIN, ...args.map((a) => a.replaceAll('{port}', String(port)))], {
    cwd: opts.cwd ?? ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d) => (stdout += d));
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const startMs = opts.startMs ?? 10_000;
    const timer = setTimeout(() => {
      // a process left running would keep the test file from ever ending
      proc.kill('SIGKILL');
      reject(new Error(`edge did not start in ${startMs / 1000} s:\n${stderr}`));
    }, startMs);
    const onData = () => {
      if (/listening/.test(stderr)) {
        clearTimeout(timer);
        proc.stderr!.off('data', onData);
        resolve();
      }
    };
    proc.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`edge exited with ${code}:\n${stderr}`));
    });
  });
  return {
    proc,
    port,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    memory: () => {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
      return { rss: kb('VmRSS'), peak: kb('VmHWM') };
    },
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** One error-log record: JSON lines parsed, any other line (a crash before the logger) as its text. */
export interface LogRecord {
  time?: string;
  level?: string;
  msg: string;
  request_id?: string;
}

export function logRecords(text: string): LogRecord[] {
  return text.split('\n').filter((l) => l !== '').map((line) => {
    if (!line.startsWith('{')) return { msg: line };
    try {
      return JSON.parse(line) as LogRecord;
    } catch {
      return { msg: line };
    }
  });
}

/** The error log's messages, one a line: what a person reads, whether edge wrote JSON or text. */
export function logMessages(text: string): string {
  return logRecords(text).map((r) => `${r.msg}\n`).join('');
}
