// Compression applied to a response while whoever answers (the proxy, static files, a fixed
// response) writes it as usual: writeHead, write and end are intercepted on this one response
// object. At the head the policy decides; a compressed body goes through a zlib stream into the
// real response with backpressure both ways; otherwise the response's own methods are put back.

import type { OutgoingHttpHeaders } from 'node:http';
import type { Encoding } from '../config/static-schema.ts';
import type { EdgeRes } from '../server/response.ts';
import { createEncoder, flushEncoder, type Encoder } from './encoder.ts';
import { addVary, verdict, weakenEtag } from './policy.ts';

type HeaderValue = number | string | readonly string[];
type Callback = (err?: Error | null) => void;

/** The parts of Node's response classes used here beyond EdgeRes (both classes have them). */
interface Res extends EdgeRes {
  getHeader(name: string): HeaderValue | undefined;
  removeHeader(name: string): void;
  write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean;
  end(chunk?: unknown, encoding?: unknown, cb?: unknown): this;
  writeHead(status: number, ...rest: unknown[]): this;
}

/** A compressed body has another length, and byte ranges of the original no longer apply. */
const DROPPED_WHEN_COMPRESSED = ['content-length', 'accept-ranges'];

/**
 * Compresses `res` with `coding` if its head, once written, allows it; with no coding (the client
 * accepts none) only adds Vary where another client would have got it compressed.
 */
export function compressResponse(res: EdgeRes, method: string, coding: Encoding | undefined): void {
  const r = res as Res;
  const writeHead = r.writeHead;
  const write = r.write;
  const end = r.end;

  let encoder: Encoder | undefined;
  let coded: Encoding | undefined;
  let eventStream = false;
  let decided = false;

  r.writeHead = function (this: Res, status: number, ...rest: unknown[]) {
    const message = typeof rest[0] === 'string' ? rest[0] : undefined;
    const given = (message === undefined ? rest[0] : rest[1]) as OutgoingHttpHeaders | readonly unknown[] | undefined;
    const headers = new HeaderView(r, given);
    decided = true;
    const length = headers.get('content-length');
    const v = verdict({
      status,
      method,
      contentType: headers.get('content-type'),
      contentEncoding: headers.get('content-encoding'),
      contentLength: length === undefined ? undefined : Number(length),
      contentRange: headers.get('content-range'),
      cacheControl: headers.get('cache-control'),
    });
    let out: OutgoingHttpHeaders | readonly unknown[] | undefined = given;
    const etag = headers.get('etag');
    if (v === 'not-modified') {
      // the client revalidates what it got: for a client that takes a coding, the weak tag
      // (weak comparison still matches the strong one of an uncompressed 200)
      if (coding !== undefined && etag !== undefined) out = headers.rewrite({ etag: weakenEtag(etag) }, []);
      restore(r);
    } else if (v === 'vary' || ((v === 'compress' || v === 'stream') && coding === undefined)) {
      out = headers.rewrite({ vary: addVary(headers.get('vary')) }, []);
      restore(r);
    } else if (v === 'compress' || v === 'stream') {
      out = headers.rewrite({
        'content-encoding': coding!,
        vary: addVary(headers.get('vary')),
        ...(etag !== undefined ? { etag: weakenEtag(etag) } : {}),
      }, DROPPED_WHEN_COMPRESSED);
      encoder = startEncoder(r, coding!, length === undefined ? undefined : Number(length), write, end);
      coded = coding;
      eventStream = v === 'stream';
      delete (r as Partial<Res>).writeHead;
    } else {
      restore(r);
    }
    return message === undefined ? writeHead.call(this, status, out) : writeHead.call(this, status, message, out);
  };

  r.write = function (this: Res, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    if (!decided) r.writeHead(r.statusCode);
    if (encoder === undefined) return write.call(this, chunk, encoding, cb);
    const ok = encoder.write(chunk, encoding as BufferEncoding, cb as Callback);
    // each event must reach the client as it is written, not when a compression block fills
    if (eventStream) flushEncoder(encoder, coded!);
    return ok;
  };

  r.end = function (this: Res, chunk?: unknown, encoding?: unknown, cb?: unknown): Res {
    if (!decided) r.writeHead(r.statusCode);
    if (encoder === undefined) return end.call(this, chunk, encoding, cb);
    if (typeof chunk === 'function') [chunk, cb] = [undefined, chunk];
    else if (typeof encoding === 'function') [encoding, cb] = [undefined, encoding];
    if (typeof cb === 'function') r.once('finish', cb as () => void);
    if (chunk === undefined || chunk === null) encoder.end();
    else encoder.end(chunk, encoding as BufferEncoding);
    return this;
  };
}

function startEncoder(r: Res, coding: Encoding, length: number | undefined, write: Res['write'], end: Res['end']): Encoder {
  const encoder = createEncoder(coding, length);
  let sent = 0;
  let waiting = false;
  let ownDrain = false;
  encoder.on('data', (chunk: Buffer) => {
    sent += chunk.length;
    // the access log counts bytes on the wire; the proxy set the upstream's length before this
    r.bodyBytes = sent;
    if (!write.call(r, chunk)) {
      waiting = true;
      encoder.pause();
    }
  });
  encoder.on('end', () => {
    r.bodyBytes = sent;
    restore(r);
    end.call(r);
  });
  encoder.on('error', () => r.destroy());
  // the socket drained: compressed output may flow again
  r.on('drain', () => {
    if (waiting && !ownDrain) {
      waiting = false;
      encoder.resume();
    }
  });
  // the encoder drained: whoever writes to the response may go on (its pipe listens on the response)
  encoder.on('drain', () => {
    ownDrain = true;
    r.emit('drain');
    ownDrain = false;
  });
  r.once('close', () => {
    if (!encoder.writableFinished) encoder.destroy();
  });
  return encoder;
}

/** The prototype's methods take over again: no cost per write once the decision is made. */
function restore(r: Res): void {
  delete (r as Partial<Res>).writeHead;
  delete (r as Partial<Res>).write;
  delete (r as Partial<Res>).end;
}

/**
 * The head's headers as writeHead will see them: those passed to it (an object, a flat
 * [name, value, ...] list, or [name, value] pairs) over those set before with setHeader.
 */
class HeaderView {
  private readonly res: Res;
  private readonly given: OutgoingHttpHeaders | readonly unknown[] | undefined;

  constructor(res: Res, given: OutgoingHttpHeaders | readonly unknown[] | undefined) {
    this.res = res;
    this.given = given;
  }

  get(name: string): string | undefined {
    const given = this.given;
    let value: unknown;
    if (Array.isArray(given)) {
      if (Array.isArray(given[0])) {
        for (const pair of given as [string, unknown][]) if (pair[0].length === name.length && pair[0].toLowerCase() === name) value = pair[1];
      } else {
        for (let i = 0; i < given.length; i += 2) {
          const key = given[i] as string;
          if (key.length === name.length && key.toLowerCase() === name) value = given[i + 1];
        }
      }
    } else if (given !== undefined) {
      for (const key in given) if (key.length === name.length && key.toLowerCase() === name) value = (given as OutgoingHttpHeaders)[key];
    }
    value ??= this.res.getHeader(name);
    if (value === undefined) return undefined;
    return Array.isArray(value) ? value.join(', ') : String(value);
  }

  /** The headers to pass on: `drop` and the names in `set` left out (also those set before), then `set` added. */
  rewrite(set: Record<string, string>, drop: readonly string[]): OutgoingHttpHeaders | unknown[] {
    const omit = new Set([...drop, ...Object.keys(set)]);
    for (const name of omit) if (this.res.getHeader(name) !== undefined) this.res.removeHeader(name);
    const given = this.given;
    if (given === undefined) return { ...set };
    if (!Array.isArray(given)) {
      const out: OutgoingHttpHeaders = {};
      for (const key in given) if (!omit.has(key.toLowerCase())) out[key] = (given as OutgoingHttpHeaders)[key];
      return Object.assign(out, set);
    }
    const flat = Array.isArray(given[0]) ? (given as [unknown, unknown][]).flat() : given;
    const out: unknown[] = [];
    for (let i = 0; i < flat.length; i += 2) if (!omit.has(String(flat[i]).toLowerCase())) out.push(flat[i], flat[i + 1]);
    for (const name in set) out.push(name, set[name]);
    return out;
  }
}
