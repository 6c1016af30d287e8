// Guards on the requests the proxy serves: a size cap for bodies without Content-Length, an idle
// timeout while a body is arriving, an abort that never passes for the body's end, and the
// client's FIN taken as leaving while the app has not answered.

import { Socket } from 'node:net';
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

/** The client gave up on its request (reset its HTTP/2 stream) before sending all of its body. */
export class ClientAbortError extends Error {
  readonly code = 'ECLIENTABORT';
  constructor() {
    super('the client reset the request before its body was complete');
    this.name = 'ClientAbortError';
  }
}

/**
 * Makes an aborted body fail rather than end. Node's HTTP/2 compatibility request emits
 * 'aborted' on RST_STREAM and then 'end' as the stream closes, so whatever it is piped to (the
 * upstream request) would be finished as if the body were whole: destroyed with an error at
 * 'aborted', it never ends, as an aborted HTTP/1.1 request already does not. Whoever watches the
 * response's 'close' cuts the upstream request.
 */
export function failOnAbort(req: EdgeRequest): void {
  req.once('aborted', () => {
    if (!req.destroyed) req.destroy(new ClientAbortError());
  });
  // the error (this one, or HTTP/1.1's ECONNRESET) may come while the body is still held back,
  // before the proxy listens on the request
  req.on('error', noop);
}

function noop(): void {}

/**
 * The client's FIN while edge still waits on the app means the client has left (its end of the
 * connection is shut: close() and shutdown(SHUT_WR) look alike until edge writes), so the socket
 * is closed and whoever watches the response's 'close' frees the upstream request at once, as
 * nginx does with proxy_ignore_client_abort off and Caddy does. Once the answer has begun, a
 * half-closed client still reads it to the end. A FIN already in before the request was handled
 * is the half-close idiom (`nc -N`): that request is answered. The cache's own request has no
 * client socket (its fetch outlives a client that leaves, as nginx's cacheable requests do).
 */
export function leaveOnClientEnd(req: EdgeRequest, res: { headersSent: boolean; once(event: 'close', fn: () => void): unknown }): void {
  const socket = req.socket;
  if (req.httpVersionMajor === 2 || !(socket instanceof Socket) || socket.readableEnded) return;
  const onEnd = (): void => {
    if (!res.headersSent) socket.destroy();
  };
  socket.once('end', onEnd);
  res.once('close', () => socket.off('end', onEnd));
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
