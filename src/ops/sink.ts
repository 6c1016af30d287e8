// Where log lines go: stdout, stderr or a file. Lines are batched, so logging costs the request path
// an array push, never a syscall: written once per event-loop turn, or, for the access log, at
// most every `batchMs` (a busy server's turns would each pay a write for a line or two). Files are
// written through libuv's thread pool and can be reopened (SIGUSR1, for logrotate); whatever is
// pending when the process exits, by any path, is written first.

import { closeSync, openSync, write, writeSync } from 'node:fs';

export class LogSink {
  readonly target: string;
  private fd: number | undefined;
  private readonly stream: NodeJS.WriteStream | undefined;
  private readonly batchMs: number;
  private pending: string[] = [];
  private pendingChars = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private writing = false;

  constructor(target: string, batchMs = 0) {
    this.target = target;
    this.batchMs = batchMs;
    process.on('exit', () => this.flushSync());
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
    this.pendingChars += line.length;
    if (this.timer !== undefined && this.pendingChars >= BATCH_CHARS) {
      clearTimeout(this.timer);
      this.timer = undefined;
      setImmediate(this.flush);
    } else if (!this.scheduled && !this.writing) {
      this.schedule();
    }
  }

  private schedule(): void {
    this.scheduled = true;
    if (this.batchMs === 0 || this.pendingChars >= BATCH_CHARS) setImmediate(this.flush);
    else this.timer = setTimeout(this.flush, this.batchMs).unref();
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    this.timer = undefined;
    if (this.writing || this.pending.length === 0) return;
    const data = this.take();
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
    if (this.pending.length > 0 && !this.scheduled) this.schedule();
  };

  private take(): string {
    const data = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    return data;
  }

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
    const data = this.take();
    if (this.stream) writeLines({ write: (chunk: string) => writeSync(this.stream === process.stdout ? 1 : 2, chunk) }, data);
    else writeSync(this.fd!, data);
  }
}

/** Pending lines this long are written without waiting out the batch delay. */
const BATCH_CHARS = 64 * 1024;

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
