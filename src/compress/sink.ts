// Compression as a wrapper of the pipeline's ResponseSink: whoever answers (the proxy, static
// files, a fixed response) hands it the head and body it would hand the client. At the head the
// policy decides; a compressed body goes through a zlib stream into the next sink with
// backpressure both ways; otherwise every call passes straight through.

import type { Encoding } from '../config/static-schema.ts';
import { fieldList, fieldValue, withoutFields, type BodyControl, type Fields, type ResponseSink } from '../http/sink.ts';
import type { EdgeRes } from '../server/response.ts';
import { createEncoder, flushEncoder, type Encoder } from './encoder.ts';
import { addVary, verdict, weakenEtag } from './policy.ts';

/** A compressed body has another length, and byte ranges of the original no longer apply. */
const COMPRESSED_DROPS = new Set(['content-length', 'accept-ranges', 'content-encoding', 'vary', 'etag']);
const VARY = new Set(['vary']);
const ETAG = new Set(['etag']);

/**
 * Compresses what is written to it with `coding` if the head allows it; with no coding (the
 * client accepts none) only adds Vary where another client would have got it compressed.
 * `res` is the exchange: its byte count for the access log, its close.
 */
export class CompressSink implements ResponseSink, BodyControl {
  private readonly next: ResponseSink;
  private readonly res: EdgeRes;
  private readonly method: string;
  private readonly coding: Encoding | undefined;
  private encoder: Encoder | undefined;
  /** The producer, resumed when the encoder has room again. */
  private control: BodyControl | undefined;
  private eventStream = false;
  private sent = 0;

  constructor(next: ResponseSink, res: EdgeRes, method: string, coding: Encoding | undefined) {
    this.next = next;
    this.res = res;
    this.method = method;
    this.coding = coding;
  }

  onHints(hints: Record<string, string | string[]>): void {
    this.next.onHints(hints);
  }

  onHead(status: number, fields: Fields, control?: BodyControl, reason?: string): void {
    const coding = this.coding;
    const length = fieldValue(fields, 'content-length');
    const v = verdict({
      status,
      method: this.method,
      contentType: fieldValue(fields, 'content-type'),
      contentEncoding: fieldValue(fields, 'content-encoding'),
      contentLength: length === undefined ? undefined : Number(length),
      contentRange: fieldValue(fields, 'content-range'),
      cacheControl: fieldList(fields, 'cache-control'),
    });
    const etag = fieldValue(fields, 'etag');
    let out = fields;
    if (v === 'not-modified') {
      // the client revalidates what it got: for a client that takes a coding, the weak tag
      // (weak comparison still matches the strong one of an uncompressed 200)
      if (coding !== undefined && etag !== undefined) out = [...withoutFields(fields, ETAG), 'etag', weakenEtag(etag)];
    } else if (v === 'vary' || ((v === 'compress' || v === 'stream') && coding === undefined)) {
      out = [...withoutFields(fields, VARY), 'vary', addVary(fieldList(fields, 'vary'))];
    } else if (v === 'compress' || v === 'stream') {
      out = withoutFields(fields, COMPRESSED_DROPS);
      out.push('content-encoding', coding!, 'vary', addVary(fieldList(fields, 'vary')));
      if (etag !== undefined) out.push('etag', weakenEtag(etag));
      this.control = control;
      this.eventStream = v === 'stream';
      this.encoder = this.startEncoder(coding!, length === undefined ? undefined : Number(length));
      this.next.onHead(status, out, this, reason);
      return;
    }
    this.next.onHead(status, out, control, reason);
  }

  onData(chunk: Buffer): boolean {
    const encoder = this.encoder;
    if (encoder === undefined) return this.next.onData(chunk);
    const ok = encoder.write(chunk);
    // each event must reach the client as it is written, not when a compression block fills
    if (this.eventStream) flushEncoder(encoder, this.coding!);
    return ok;
  }

  onEnd(last?: Buffer): void {
    const encoder = this.encoder;
    if (encoder === undefined) this.next.onEnd(last);
    else if (last === undefined) encoder.end();
    else encoder.end(last);
  }

  onError(): void {
    if (this.encoder !== undefined && !this.encoder.destroyed) this.encoder.destroy();
    this.next.onError();
  }

  /** The next sink has room again: compressed output may flow. */
  resume(): void {
    this.encoder?.resume();
  }

  private startEncoder(coding: Encoding, length: number | undefined): Encoder {
    const encoder = createEncoder(coding, length);
    const res = this.res;
    encoder.on('data', (chunk: Buffer) => {
      this.sent += chunk.length;
      // the access log counts bytes on the wire; the producer set the original length before this
      res.bodyBytes = this.sent;
      if (!this.next.onData(chunk)) encoder.pause();
    });
    encoder.on('end', () => {
      res.bodyBytes = this.sent;
      this.next.onEnd();
    });
    encoder.on('error', () => this.next.onError());
    // the encoder took what it held: whoever writes to it may go on
    encoder.on('drain', () => this.control?.resume());
    res.once('close', () => {
      if (!encoder.writableFinished) encoder.destroy();
    });
    return encoder;
  }
}
