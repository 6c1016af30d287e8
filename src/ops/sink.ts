// Where log lines go: stdout, stderr or a file. Logging costs the request path one copy of the line
// into a byte buffer, never a syscall: the bytes are written once per event-loop turn, or, for the
// access log, at most every `batchMs` (a busy server's turns would each pay a write for a line or
// two). Lines become bytes at once, so a batch holds no JavaScript strings for the garbage collector
// to move into the old generation. Files are written through libuv's thread pool and can be reopened
// (SIGUSR1, for logrotate); whatever is pending when the process exits, by any path, is written first.

import { closeSync, openSync, writev, writeSync } from 'node:fs';

/** Bytes a buffer holds; a full one is written without waiting out the batch delay. */
const CHUNK = 64 * 1024;

export class LogSink {
  readonly target: string;
  private fd: number | undefined;
  private readonly stream: NodeJS.WriteStream | undefined;
  private readonly batchMs: number;
  /** Filled stretches of buffers, oldest first, not yet handed to a write. */
  private ready: Buffer[] = [];
  private chunk = Buffer.allocUnsafe(CHUNK);
  /** Where the pending stretch of `chunk` starts, and where its next line goes. */
  private start = 0;
  private used = 0;
  private scheduled: 'no' | 'turn' | 'timer' = 'no';
  private timer: NodeJS.Timeout | undefined;
  private writing = false;

  constructor(target: string, batchMs = 0) {
    this.target = target;
    this.batchMs = batchMs;
    process.on('exit', () => this.flushSync());
    if (target === 'stdout') this.stream = process.stdout;
    else if (target === 'stderr') this.stream = process.stderr;
    else this.fd = openSync(target, 'a', 0o640);
    if (this.stream) guardStandardStreams();
  }

  /** True when lines go to a terminal (a person reading), false for pipes, journals and files. */
  get isTTY(): boolean {
    return this.stream?.isTTY === true;
  }

  write(line: string): void {
    // a UTF-16 unit is at most 3 bytes of UTF-8: a line within the room left surely fits
    if (line.length * 3 > CHUNK - this.used) {
      this.seal();
      if (line.length * 3 > CHUNK) {
        this.ready.push(Buffer.from(line));
        this.schedule();
        return;
      }
      this.chunk = Buffer.allocUnsafe(CHUNK);
      this.start = this.used = 0;
    }
    this.used += this.chunk.write(line, this.used);
    this.schedule();
  }

  private schedule(): void {
    if (this.writing || this.scheduled === 'turn') return;
    if (this.batchMs === 0 || this.ready.length > 0) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      this.scheduled = 'turn';
      setImmediate(this.flush);
    } else if (this.scheduled === 'no') {
      this.scheduled = 'timer';
      this.timer = setTimeout(this.flush, this.batchMs).unref();
    }
  }

  private readonly flush = (): void => {
    this.scheduled = 'no';
    this.timer = undefined;
    if (this.writing) return;
    const data = this.take();
    if (data.length === 0) return;
    if (this.stream) {
      if (!broken.has(this.stream)) for (const buf of data) writeLines(this.stream, buf);
      return;
    }
    this.writing = true;
    writev(this.fd!, data, this.written);
  };

  private readonly written = (err: NodeJS.ErrnoException | null): void => {
    this.writing = false;
    if (err) process.stderr.write(`edge: cannot write log ${this.target}: ${err.message}\n`);
    if (this.ready.length > 0 || this.used > this.start) this.schedule();
  };

  /** Moves the pending stretch of the current buffer to `ready`; later lines go after it. */
  private seal(): void {
    if (this.used === this.start) return;
    this.ready.push(this.chunk.subarray(this.start, this.used));
    this.start = this.used;
  }

  private take(): Buffer[] {
    this.seal();
    const data = this.ready;
    this.ready = [];
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
    if (this.stream && broken.has(this.stream)) return;
    const fd = this.stream ? (this.stream === process.stdout ? 1 : 2) : this.fd!;
    const sync = { write: (chunk: Buffer) => writeSync(fd, chunk) };
    for (const buf of this.take()) writeLines(sync, buf);
  }
}

/** Standard streams whose reader went away (EPIPE): their lines are dropped from then on. */
const broken = new WeakSet<NodeJS.WriteStream>();
let guarded = false;

/**
 * A closed pipe on stdout or stderr (a log reader that exited) fails the next write with an
 * 'error' event, which with no listener stopped edge at the next request. Said once, on the other
 * stream; serving goes on.
 */
function guardStandardStreams(): void {
  if (guarded) return;
  guarded = true;
  for (const [name, stream, other] of [['stdout', process.stdout, process.stderr], ['stderr', process.stderr, process.stdout]] as const) {
    stream.on('error', (err: Error) => {
      if (broken.has(stream)) return;
      broken.add(stream);
      if (!broken.has(other)) other.write(`edge: cannot write log ${name}: ${err.message}; its lines are dropped from now on\n`);
    });
  }
}

/**
 * A pipe write of up to PIPE_BUF bytes is atomic: with workers sharing stdout (a pipe to docker or
 * journald), writes of whole lines at most that long never interleave mid-line with another
 * process's. Node writes to pipes synchronously on Linux, one write(2) per call.
 */
const PIPE_BUF = 4096;
const NEWLINE = 0x0a;

function writeLines(stream: { write(chunk: Buffer): unknown }, data: Buffer): void {
  let start = 0;
  while (data.length - start > PIPE_BUF) {
    // cut after the last newline within the limit; a longer line is cut where the limit falls
    const nl = data.lastIndexOf(NEWLINE, start + PIPE_BUF - 1);
    const end = nl >= start ? nl + 1 : start + PIPE_BUF;
    stream.write(data.subarray(start, end));
    start = end;
  }
  if (start < data.length) stream.write(data.subarray(start));
}
