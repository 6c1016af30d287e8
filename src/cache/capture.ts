// The request and response objects the cache hands to the route's action when it fetches on its
// own account (misses, revalidations, background refreshes): a request with no body and chosen
// headers, and a response that records the head and passes body chunks to a sink with
// backpressure, so whatever the action does (the proxy, its error pages) lands in the cache.

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Readable, Writable } from 'node:stream';
import type { BodyControl, Fields } from '../http/sink.ts';
import { UNMATCHED, type EdgeRequest, type EdgeRes } from '../server/response.ts';

export interface CaptureSink {
  head(status: number, raw: string[]): void;
  /** A 103 from the upstream, before the head: for the waiting client, never stored. */
  earlyHints(hints: Record<string, string | string[]>): void;
  data(chunk: Buffer, done: () => void): void;
  end(): void;
  /** The response broke off (upstream died mid-body) or was cut by the cache. */
  abort(): void;
}

interface SocketFacts {
  remoteAddress: string | undefined;
  encrypted: boolean;
  destroyed: boolean;
}

/** A GET with no body as the action sees it; the client's address kept for X-Forwarded-For. */
export class CacheRequest extends Readable {
  readonly method = 'GET';
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly httpVersion = '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  readonly socket: SocketFacts;
  readonly connection: SocketFacts;

  constructor(url: string, headers: IncomingHttpHeaders, socket: SocketFacts) {
    super();
    this.url = url;
    this.headers = headers;
    this.socket = socket;
    this.connection = socket;
    this.push(null);
  }

  override _read(): void {}
}

export class CaptureResponse extends Writable implements EdgeRes {
  startedAt = 0;
  bodyBytes = 0;
  upstream = '';
  cancelUpstream: (() => void) | undefined = undefined;
  client = '';
  site = UNMATCHED;
  route = UNMATCHED;
  proxyTrip: object | undefined = undefined;
  statusCode = 200;
  headersSent = false;
  readonly req: EdgeRequest;
  private readonly pending = new Map<string, string[]>();
  private control: BodyControl | undefined;
  private readonly sink: CaptureSink;

  constructor(req: CacheRequest, sink: CaptureSink) {
    super();
    this.req = req as unknown as EdgeRequest;
    this.sink = sink;
  }

  writeHead(status: number, a?: string | OutgoingHttpHeaders | string[], b?: OutgoingHttpHeaders | string[]): this {
    if (this.headersSent) return this;
    const given = typeof a === 'string' ? b : a;
    const raw: string[] = [];
    const named = new Set<string>();
    if (Array.isArray(given)) {
      for (let i = 0; i < given.length; i += 2) named.add(String(given[i]).toLowerCase());
    } else if (given) {
      for (const name of Object.keys(given)) named.add(name.toLowerCase());
    }
    for (const [name, values] of this.pending) if (!named.has(name)) for (const v of values) raw.push(name, v);
    if (Array.isArray(given)) {
      for (let i = 0; i < given.length; i += 2) raw.push(String(given[i]), String(given[i + 1]));
    } else if (given) {
      for (const [name, v] of Object.entries(given)) {
        if (v === undefined) continue;
        if (Array.isArray(v)) for (const item of v) raw.push(name, String(item));
        else raw.push(name, String(v));
      }
    }
    this.statusCode = status;
    this.headersSent = true;
    this.sink.head(status, raw);
    return this;
  }

  setHeader(name: string, value: number | string | readonly string[]): this {
    this.pending.set(name.toLowerCase(), Array.isArray(value) ? value.map(String) : [String(value)]);
    return this;
  }

  getHeader(name: string): string | string[] | undefined {
    const v = this.pending.get(name.toLowerCase());
    return v === undefined ? undefined : v.length === 1 ? v[0] : v;
  }

  removeHeader(name: string): void {
    this.pending.delete(name.toLowerCase());
  }

  onHints(hints: Record<string, string | string[]>): void {
    this.writeEarlyHints(hints);
  }

  onHead(status: number, fields: Fields, control?: BodyControl): void {
    this.control = control;
    this.writeHead(status, fields);
  }

  onData(chunk: Buffer): boolean {
    if (this.write(chunk)) return true;
    this.once('drain', () => this.control?.resume());
    return false;
  }

  onEnd(last?: Buffer): void {
    if (last === undefined) this.end();
    else this.end(last);
  }

  onError(): void {
    this.destroy();
  }

  writeContinue(): void {}

  writeEarlyHints(hints: Record<string, string | string[]>): void {
    if (!this.headersSent) this.sink.earlyHints(hints);
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    if (!this.headersSent) this.writeHead(this.statusCode);
    this.sink.data(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    if (!this.headersSent) this.writeHead(this.statusCode);
    this.sink.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (!this.writableFinished) this.sink.abort();
    done(err);
  }
}
