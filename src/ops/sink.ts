// Where log lines go: stdout, stderr or a file. Lines are batched and written once per event-loop
// turn, so logging costs the request path an array push, never a syscall; files are written
// through libuv's thread pool and can be reopened (SIGUSR1, for logrotate).

import { closeSync, openSync, write, writeSync } from 'node:fs';

export class LogSink {
  readonly target: string;
  private fd: number | undefined;
  private readonly stream: NodeJS.WriteStream | undefined;
  private pending: string[] = [];
  private scheduled = false;
  private writing = false;

  constructor(target: string) {
    this.target = target;
    if (target === 'stdout') this.stream = process.stdout;
    else if (target === 'stderr') this.stream = process.stderr;
    else this.fd = openSync(target, 'a', 0o640);
  }

  /** True when lines go to a terminal (a person reading), false for pipes, journals and files. */
  get isTTY(): boolean {
    return this.stream?.isTTY === true;
  }

  write(line: string): void {
    this.pending.push(line);
    if (!this.scheduled && !this.writing) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.writing || this.pending.length === 0) return;
    const data = this.pending.join('');
    this.pending = [];
    if (this.stream) {
      writeLines(this.stream, data);
      return;
    }
    this.writing = true;
    write(this.fd!, data, null, 'utf8', this.written);
  };

  private readonly written = (err: NodeJS.ErrnoException | null): void => {
    this.writing = false;
    if (err) process.stderr.write(`edge: cannot write log ${this.target}: ${err.message}\n`);
    if (this.pending.length > 0) this.flush();
  };

  /** Opens the file again by name, so a rotated log starts afresh. */
  reopen(): void {
    if (this.fd === undefined) return;
    const old = this.fd;
    this.fd = openSync(this.target, 'a', 0o640);
    // a write in flight still holds the old descriptor; close it once the thread pool is done
    setTimeout(() => closeSync(old), this.writing ? 1000 : 0).unref();
  }

  /** Writes what is pending right now; for exit paths. */
  flushSync(): void {
    if (this.pending.length === 0) return;
    const data = this.pending.join('');
    this.pending = [];
    if (this.stream) writeLines({ write: (chunk: string) => writeSync(this.stream === process.stdout ? 1 : 2, chunk) }, data);
    else writeSync(this.fd!, data);
  }
}

/**
 * A pipe write of up to PIPE_BUF bytes is atomic: with workers sharing stdout (a pipe to docker or
 * journald), writes of whole lines at most that long never interleave mid-line with another
 * process's. Node writes to pipes synchronously on Linux, one write(2) per call.
 */
const PIPE_BUF = 4096;

function writeLines(stream: { write(chunk: string): unknown }, data: string): void {
  if (data.length <= PIPE_BUF / 4 || Buffer.byteLength(data) <= PIPE_BUF) {
    stream.write(data);
    return;
  }
  let start = 0;
  while (start < data.length) {
    // cut at the last newline within the limit (in UTF-16 units: a quarter of the bytes is safe)
    let end = Math.min(data.length, start + PIPE_BUF / 4);
    if (end < data.length) {
      const nl = data.lastIndexOf('\n', end - 1);
      end = nl >= start ? nl + 1 : end;
    }
    stream.write(data.slice(start, end));
    start = end;
  }
}
