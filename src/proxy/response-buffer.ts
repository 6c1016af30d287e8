// Response buffering: what the upstream sends while the client is slower goes to memory up to a
// bound, then to a temp file up to buffering.max_temp_file_size, and is written to the client as
// it takes it. The upstream (a Gunicorn sync worker) is read at its own speed and is free once it
// has sent its answer; only past the file's limit, or without a usable temp folder past the memory
// bound, is it paused as an unbuffered response would be.

import type { FileHandle } from 'node:fs/promises';
import type { ResponseSink } from '../http/sink.ts';
import type { Logger } from '../ops/log.ts';
import { SpoolError, type TempFiles } from './spool.ts';

/** Bytes kept in memory per response before the temp file (nginx: 8 x 4k-8k proxy_buffers). */
export const RESPONSE_MEMORY = 256 * 1024;
const READ_SIZE = 64 * 1024;

export interface ResponseBuffering {
  temp: TempFiles;
  /** Most bytes a response may have in its temp file; 0 keeps responses in memory only. */
  maxFile: number;
  logger: Logger;
}

export interface Upstream {
  pause(): void;
  resume(): void;
}

export class ResponseBuffer {
  private readonly out: ResponseSink;
  private readonly upstream: Upstream;
  private readonly opts: ResponseBuffering;
  private memory: Buffer[] = [];
  private memoryBytes = 0;
  private file: FileHandle | undefined;
  /** No temp file for this response: not allowed, or the folder failed. */
  private noFile: boolean;
  /**
   * The file took no more (disk full) while the client had yet to read part of it: the rest waits
   * in toWrite, the upstream paused, until the client has read the file; then memory only.
   */
  private fileFull = false;
  private opening = false;
  /** Chunks on their way to the file, in order. */
  private toWrite: Buffer[] = [];
  private toWriteBytes = 0;
  private writing = false;
  private reading = false;
  private writePos = 0;
  private readPos = 0;
  /** The sink said to wait until it resumes its producer. */
  private blocked = true;
  private paused = false;
  private ended = false;
  private closed = false;

  /** Made when the sink has just said it is full (onData returned false); disposed when the exchange closes. */
  constructor(out: ResponseSink, upstream: Upstream, opts: ResponseBuffering) {
    this.out = out;
    this.upstream = upstream;
    this.opts = opts;
    this.noFile = opts.maxFile <= 0;
  }

  push(chunk: Buffer): void {
    if (this.closed) return;
    const fileInUse = this.opening || this.file !== undefined && (this.writePos > this.readPos || this.toWriteBytes > 0);
    if (this.noFile || (!fileInUse && this.memoryBytes + chunk.length <= RESPONSE_MEMORY)) {
      this.memory.push(chunk);
      this.memoryBytes += chunk.length;
    } else {
      this.toWrite.push(chunk);
      this.toWriteBytes += chunk.length;
      void this.writeOut();
    }
    if (!this.blocked) this.pump();
    this.throttle();
  }

  /** The upstream sent all of it: the client's response ends once the buffer is drained. */
  end(): void {
    this.ended = true;
    if (!this.blocked) this.pump();
  }

  /** The sink has room again. */
  drained(): void {
    this.blocked = false;
    this.pump();
  }

  private pump(): void {
    while (!this.blocked && !this.closed) {
      const chunk = this.memory.shift();
      if (chunk === undefined) break;
      this.memoryBytes -= chunk.length;
      if (!this.out.onData(chunk)) this.blocked = true;
    }
    if (this.blocked || this.closed) return this.throttle();
    if (this.file && this.readPos < this.writePos) return void this.readIn();
    if (this.toWriteBytes > 0 || this.opening) return;
    if (this.ended) {
      this.out.onEnd();
      this.dispose();
      return;
    }
    this.throttle();
  }

  /** Pauses the upstream while the buffer is at its bounds, resumes it once there is room. */
  private throttle(): void {
    if (this.closed) return;
    const full = this.noFile
      ? this.memoryBytes >= RESPONSE_MEMORY
      : this.fileFull || this.toWriteBytes >= RESPONSE_MEMORY || this.writePos - this.readPos + this.toWriteBytes >= this.opts.maxFile;
    if (full && !this.paused) this.upstream.pause();
    else if (!full && this.paused) this.upstream.resume();
    this.paused = full;
  }

  private async writeOut(): Promise<void> {
    if (this.writing || this.closed) return;
    this.writing = true;
    try {
      if (!this.file) {
        this.opening = true;
        const file = await this.opts.temp.open();
        this.opening = false;
        if (this.closed) return void file.close().catch(noop);
        this.file = file;
        this.opts.temp.responsesSpooled++;
      }
      while (this.toWrite.length > 0 && !this.closed && !this.fileFull) {
        const chunk = this.toWrite[0]!;
        const { bytesWritten: n } = await this.file.write(chunk, 0, chunk.length, this.writePos);
        if (n === 0) throw Object.assign(new Error('no space left on device, write'), { code: 'ENOSPC' });
        // a disk filling up may take part of a write before it refuses the rest: that part is in
        if (n < chunk.length) this.toWrite[0] = chunk.subarray(n);
        else this.toWrite.shift();
        this.toWriteBytes -= n;
        this.writePos += n;
        this.opts.temp.inUse += n;
        this.opts.temp.responseBytesSpooled += n;
        if (!this.blocked && !this.reading) this.pump();
      }
    } catch (err) {
      this.fileFailed(err instanceof SpoolError ? err : new SpoolError(this.opts.temp.dir, err as NodeJS.ErrnoException));
    } finally {
      this.opening = false;
      this.writing = false;
    }
    if (!this.blocked && !this.closed) this.pump();
    this.throttle();
  }

  private async readIn(): Promise<void> {
    if (this.reading || !this.file) return;
    this.reading = true;
    const size = Math.min(READ_SIZE, this.writePos - this.readPos);
    let chunk: Buffer;
    try {
      const { bytesRead, buffer } = await this.file.read(Buffer.allocUnsafe(size), 0, size, this.readPos);
      chunk = bytesRead === size ? buffer : buffer.subarray(0, bytesRead);
      if (bytesRead === 0) throw new Error('temp file shorter than written');
    } catch (err) {
      this.reading = false;
      // what is in the file cannot be sent: the response cannot be completed
      if (!this.closed) this.opts.logger.error(`response buffer: reading the temp file failed (${(err as Error).message}): response cut`);
      this.out.onError();
      return;
    } finally {
      this.reading = false;
    }
    if (this.closed) return;
    this.readPos += chunk.length;
    if (this.fileFull && this.readPos === this.writePos) this.toMemory();
    else if (this.readPos === this.writePos && this.toWriteBytes === 0 && !this.writing) {
      // all read: the file starts over, so its size is what the client is behind by
      this.opts.temp.inUse -= this.writePos;
      this.readPos = this.writePos = 0;
    }
    if (!this.out.onData(chunk)) this.blocked = true;
    this.pump();
  }

  /**
   * The temp folder failed this response: from here it is buffered in memory only, with pauses;
   * what the file already holds is sent first, the app paused meanwhile.
   */
  private fileFailed(err: Error): void {
    if (this.closed) return;
    if (this.writePos > this.readPos) {
      this.opts.logger.error(`response buffer: ${err.message}; the app is paused until the client has read the ${this.writePos - this.readPos} bytes in the file, then the response goes on unbuffered`);
      this.fileFull = true;
      this.throttle();
      return;
    }
    this.opts.logger.error(`response buffer: ${err.message}; this response goes on unbuffered past ${RESPONSE_MEMORY} bytes`);
    this.toMemory();
  }

  /** No more temp file for this response: what waited for it goes to memory, in order. */
  private toMemory(): void {
    this.noFile = true;
    this.fileFull = false;
    this.memory.push(...this.toWrite);
    this.memoryBytes += this.toWriteBytes;
    this.toWrite = [];
    this.toWriteBytes = 0;
    this.opts.temp.inUse -= this.writePos;
    this.readPos = this.writePos = 0;
  }

  /** The exchange is over (answered, or its consumer gone): memory and the temp file are freed. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    this.memory = [];
    this.toWrite = [];
    this.opts.temp.inUse -= this.writePos;
    this.writePos = this.readPos = 0;
    const file = this.file;
    this.file = undefined;
    if (file) void file.close().catch(noop);
  }
}

function noop(): void {}
