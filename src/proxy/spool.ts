// Edge's temp folder for buffered bodies and the memory-then-file buffer a request body is read
// into. A temp file is opened under a random name and unlinked at once, so it vanishes with its
// handle whatever happens to the process; nothing is left in the folder to clean up.
// Counts what is spooled, for /metrics.

import { randomBytes } from 'node:crypto';
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { MetricSample } from '../ops/metric-sample.ts';

/** The temp folder could not be used (missing, not writable, full): the message says which and why. */
export class SpoolError extends Error {
  readonly code = 'ESPOOL';
  override readonly cause: NodeJS.ErrnoException;
  constructor(dir: string, cause: NodeJS.ErrnoException) {
    super(`temp folder ${dir} (buffering.temp_dir): ${cause.code ?? cause.message}${cause.code === 'ENOSPC' ? ' (no space left)' : ''}: ${cause.message}`);
    this.name = 'SpoolError';
    this.cause = cause;
  }
}

const folders = new Map<string, TempFiles>();

/** The process's one TempFiles for `dir`: its counts outlive a reload. */
export function tempFiles(dir: string): TempFiles {
  let temp = folders.get(dir);
  if (!temp) folders.set(dir, (temp = new TempFiles(dir)));
  return temp;
}

const READ_SIZE = 64 * 1024;

export class TempFiles {
  readonly dir: string;
  /** Bytes in this process's temp files now. */
  inUse = 0;
  requestsSpooled = 0;
  requestBytesSpooled = 0;
  responsesSpooled = 0;
  responseBytesSpooled = 0;
  private made: Promise<void> | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** A new, already unlinked temp file open for reading and writing. */
  async open(): Promise<FileHandle> {
    try {
      this.made ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
      await this.made;
    } catch (err) {
      this.made = undefined;
      throw new SpoolError(this.dir, err as NodeJS.ErrnoException);
    }
    const path = join(this.dir, `edge-${randomBytes(8).toString('hex')}`);
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx+', 0o600);
    } catch (err) {
      throw new SpoolError(this.dir, err as NodeJS.ErrnoException);
    }
    await unlink(path).catch(noop);
    return handle;
  }

  samples(): MetricSample[] {
    const s = (name: string, help: string, type: 'gauge' | 'counter', labels: Record<string, string>, value: number): MetricSample => ({ name, help, type, labels, value });
    return [
      s('edge_buffer_temp_bytes', 'Bytes of request and response bodies in temp files now.', 'gauge', {}, this.inUse),
      s('edge_buffer_spooled_total', 'Bodies that went past the memory buffer into a temp file.', 'counter', { direction: 'request' }, this.requestsSpooled),
      s('edge_buffer_spooled_total', 'Bodies that went past the memory buffer into a temp file.', 'counter', { direction: 'response' }, this.responsesSpooled),
      s('edge_buffer_spooled_bytes_total', 'Body bytes written to temp files.', 'counter', { direction: 'request' }, this.requestBytesSpooled),
      s('edge_buffer_spooled_bytes_total', 'Body bytes written to temp files.', 'counter', { direction: 'response' }, this.responseBytesSpooled),
    ];
  }
}

/** A whole request body: in memory, or in a temp file that any number of attempts can read. */
export type SpooledBody = { buffer: Buffer; length: number } | { file: FileHandle; length: number };

/**
 * A Writable that keeps what it is given in memory up to `memory` bytes, then moves it all to a
 * temp file. Once finished, body() is the whole of it; release() closes the file (every path
 * that made a RequestSpool calls it).
 */
export class RequestSpool extends Writable {
  private readonly temp: TempFiles;
  private readonly memory: number;
  private chunks: Buffer[] = [];
  private size = 0;
  private written = 0;
  private file: FileHandle | undefined;
  private released = false;

  constructor(temp: TempFiles, memory: number) {
    super();
    this.temp = temp;
    this.memory = memory;
  }

  get length(): number {
    return this.size;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.size += chunk.length;
    if (this.file === undefined && this.size <= this.memory) {
      this.chunks.push(chunk);
      done();
      return;
    }
    this.toFile(chunk).then(() => done(), done);
  }

  body(): SpooledBody {
    if (this.file) return { file: this.file, length: this.size };
    const buffer = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.chunks = [buffer];
    return { buffer, length: this.size };
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.chunks = [];
    const file = this.file;
    this.file = undefined;
    if (file) {
      this.temp.inUse -= this.written;
      void file.close().catch(noop);
    }
  }

  private async toFile(chunk: Buffer): Promise<void> {
    if (this.file === undefined) {
      const file = await this.temp.open();
      if (this.released) {
        await file.close().catch(noop);
        return;
      }
      this.file = file;
      this.temp.requestsSpooled++;
      const held = this.chunks;
      this.chunks = [];
      for (const c of held) await this.append(c);
    }
    await this.append(chunk);
  }

  private async append(chunk: Buffer): Promise<void> {
    if (this.released || !this.file) return;
    try {
      // a disk filling up may take part of a write before it refuses the rest (ENOSPC)
      for (let at = 0; at < chunk.length;) {
        const { bytesWritten } = await this.file.write(chunk, at, chunk.length - at);
        if (bytesWritten === 0) throw Object.assign(new Error('no space left on device, write'), { code: 'ENOSPC' });
        at += bytesWritten;
      }
    } catch (err) {
      // a full disk (ENOSPC) or quota: the log line names the folder and its key
      throw new SpoolError(this.temp.dir, err as NodeJS.ErrnoException);
    }
    this.written += chunk.length;
    this.temp.inUse += chunk.length;
    this.temp.requestBytesSpooled += chunk.length;
  }
}

/** A stream of a spooled body from its start, for one attempt; the file stays open for the next. */
export function readBody(body: SpooledBody): Buffer | Readable {
  if ('buffer' in body) return body.buffer;
  const { file, length } = body;
  let pos = 0;
  const stream = new Readable({
    highWaterMark: READ_SIZE,
    read() {
      const size = Math.min(READ_SIZE, length - pos);
      if (size <= 0) {
        this.push(null);
        return;
      }
      file.read(Buffer.allocUnsafe(size), 0, size, pos).then(({ bytesRead, buffer }) => {
        if (bytesRead === 0) return this.destroy(new Error('temp file shorter than the body written to it'));
        pos += bytesRead;
        this.push(bytesRead === size ? buffer : buffer.subarray(0, bytesRead));
      }, (err: Error) => this.destroy(err));
    },
  });
  // a failed read fails the attempt through undici; this only keeps a late one quiet
  stream.on('error', noop);
  return stream;
}

function noop(): void {}
