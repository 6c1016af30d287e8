// The Node adapter at the end of the pipeline: a ResponseSink's calls as Node's HTTP/1.1 or
// HTTP/2 compatibility response takes them. Edge's two response classes (src/server/response.ts)
// are sinks through these functions, so the common case (nothing wraps the action) allocates
// nothing per request or per chunk: the 'drain' listener is one shared function.

import type { BodyControl, Fields } from './sink.ts';

/** What the adapter needs of Node's response classes (both have it). */
export interface NodeResponse {
  readonly req: { readonly httpVersionMajor: number; readonly httpVersionMinor: number };
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
  /** The producer to resume at 'drain', and whether it waits for one. */
  control: BodyControl | undefined;
  awaitingDrain: boolean;
  writeHead(status: number, a?: string | Fields, b?: Fields): unknown;
  write(chunk: Buffer): boolean;
  writeEarlyHints(hints: Record<string, string | string[]>): void;
  once(event: 'drain', listener: (this: NodeResponse) => void): unknown;
}

export function nodeHead(res: NodeResponse, status: number, fields: Fields, control: BodyControl | undefined, reason: string | undefined): void {
  res.control = control;
  // HTTP/2 has no reason phrase
  if (reason !== undefined && res.req.httpVersionMajor === 1) res.writeHead(status, reason, fields);
  else res.writeHead(status, fields);
}

export function nodeData(res: NodeResponse, chunk: Buffer): boolean {
  if (res.write(chunk)) return true;
  if (!res.awaitingDrain) {
    res.awaitingDrain = true;
    res.once('drain', drained);
  }
  return false;
}

function drained(this: NodeResponse): void {
  this.awaitingDrain = false;
  this.control?.resume();
}

/**
 * 103 Early Hints (RFC 8297): only before the final response and never to an HTTP/1.0 client,
 * which has no 1xx (RFC 9110 15.2). A hint Node will not write (a Link it finds malformed, a
 * field HTTP/2 forbids) is dropped: hints are optional, and the final response must still go out.
 */
export function nodeHints(res: NodeResponse, hints: Record<string, string | string[]>): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const req = res.req;
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return;
  try {
    res.writeEarlyHints(hints);
  } catch {
    // malformed hints from the app: the response itself is unaffected
  }
}
