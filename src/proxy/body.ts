// Guards on request bodies the proxy streams: a size cap for bodies without Content-Length, and
// an idle timeout while a body is arriving.

import { Transform, type TransformCallback } from 'node:stream';
import type { Http2ServerRequest } from 'node:http2';
import type { EdgeRequest } from '../server/response.ts';

export class BodyTooLargeError extends Error {
  readonly code = 'EBODY_TOO_LARGE';
  constructor(limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** Passes a chunked body through, failing with BodyTooLargeError once it passes `limit` bytes. */
export class BodyLimit extends Transform {
  private seen = 0;
  private readonly limit: number;

  constructor(limit: number) {
    super();
    this.limit = limit;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) done(new BodyTooLargeError(this.limit));
    else done(null, chunk);
  }
}

/**
 * Calls `onIdle` when the client sends nothing for `ms` while its body is incomplete. Node emits
 * the request's 'timeout' only until the body is complete, then the watch is lifted.
 */
export function watchBodyIdle(req: EdgeRequest, ms: number, onIdle: () => void): void {
  req.setTimeout(ms, onIdle);
  // over HTTP/2 the socket is the whole session's: only the stream's own clock is lifted
  req.once('end', () => (req.httpVersionMajor === 2 ? (req as Http2ServerRequest).stream.setTimeout(0) : req.socket.setTimeout(0)));
}
