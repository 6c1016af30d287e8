// The request and response objects edge's servers create: Node's, plus the few facts the access
// log and error handling need, kept as plain fields (no per-request maps). HTTP/1.1 and HTTP/2
// each have their own response class with the same fields; both are the pipeline's last
// ResponseSink (src/http/node-sink.ts), so an action writes to them as it writes to any wrapper.

import { ServerResponse, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Http2ServerResponse, type Http2ServerRequest } from 'node:http2';
import { nodeData, nodeHead, nodeHints } from '../http/node-sink.ts';
import type { BodyControl, Fields, ResponseSink } from '../http/sink.ts';

export type EdgeRequest = IncomingMessage | Http2ServerRequest;

/** The site and route of a request no site or route took, in /metrics. */
export const UNMATCHED = 'none';

interface Exchange {
  /** performance.now() when the request arrived. */
  startedAt: number;
  /** Body bytes sent to the client. */
  bodyBytes: number;
  /** The upstream that served (or failed) the request, for logs. */
  upstream: string;
  /** Stops the upstream request under way, if any: its client's body broke off. */
  cancelUpstream: (() => void) | undefined;
  /** The client's address, kept for the access log (an HTTP/2 stream may have lost its socket by then). */
  client: string;
  /** The site (its first host) and route (its pattern) that took the request, for /metrics. */
  site: string;
  route: string;
}

export class EdgeResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> implements Exchange {
  startedAt = 0;
  bodyBytes = 0;
  upstream = '';
  cancelUpstream: (() => void) | undefined = undefined;
  client = '';
  site = UNMATCHED;
  route = UNMATCHED;
  control: BodyControl | undefined = undefined;
  awaitingDrain = false;

  onHints(hints: Record<string, string | string[]>): void {
    nodeHints(this, hints);
  }

  onHead(status: number, fields: Fields, control?: BodyControl, reason?: string): void {
    nodeHead(this, status, fields, control, reason);
  }

  onData(chunk: Buffer): boolean {
    return nodeData(this, chunk);
  }

  onEnd(last?: Buffer): void {
    if (last === undefined) this.end();
    else this.end(last);
  }

  onError(): void {
    this.destroy();
  }
}

export class EdgeH2Response<Request extends Http2ServerRequest = Http2ServerRequest> extends Http2ServerResponse<Request> implements Exchange {
  startedAt = 0;
  bodyBytes = 0;
  upstream = '';
  cancelUpstream: (() => void) | undefined = undefined;
  client = '';
  site = UNMATCHED;
  route = UNMATCHED;
  control: BodyControl | undefined = undefined;
  awaitingDrain = false;

  onHints(hints: Record<string, string | string[]>): void {
    nodeHints(this, hints);
  }

  onHead(status: number, fields: Fields, control?: BodyControl, reason?: string): void {
    nodeHead(this, status, fields, control, reason);
  }

  onData(chunk: Buffer): boolean {
    return nodeData(this, chunk);
  }

  onEnd(last?: Buffer): void {
    if (last === undefined) this.end();
    else this.end(last);
  }

  onError(): void {
    this.destroy();
  }

  /**
   * A stream destroyed without an error is closed with RST_STREAM NO_ERROR, which a client may take
   * for the end of a complete response (RFC 9113 8.1): one cut short (an upstream that broke off, a
   * file that shrank) is reset with INTERNAL_ERROR instead.
   */
  override destroy(err?: Error): this {
    super.destroy(err ?? new ResponseCutError());
    return this;
  }
}

export class ResponseCutError extends Error {
  readonly code = 'ERESPONSE_CUT';
  constructor() {
    super('response cut short');
    this.name = 'ResponseCutError';
  }
}

/** What edge's code needs of a response, met by both classes above. */
export interface EdgeRes extends Exchange, ResponseSink, NodeJS.WritableStream {
  readonly req: EdgeRequest;
  statusCode: number;
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  readonly destroyed: boolean;
  writeHead(statusCode: number, headers?: OutgoingHttpHeaders | string[]): unknown;
  setHeader(name: string, value: number | string | readonly string[]): unknown;
  writeContinue(): void;
  writeEarlyHints(hints: Record<string, string | string[]>): void;
  destroy(error?: Error): unknown;
}

/**
 * The whole response went out; false once it closed means the client went away or edge cut it.
 * An HTTP/2 compatibility response calls itself finished whenever its stream closes, reset or
 * not. Its stream is 'aborted' when reset before edge ended the response, and its writable
 * side unfinished when reset with frames still unsent.
 */
export function completed(res: EdgeRes): boolean {
  if (!(res instanceof EdgeH2Response)) return res.writableFinished;
  const stream = res.stream;
  return !stream.aborted && stream.writableFinished;
}

export { requestHost } from '../http/request.ts';
