// A request as the pipeline's inner stages see it when no client sent it as such: the cache's own
// fetches (misses, revalidations, background refreshes) hand the action under them a RequestView
// and a ResponseSink, not a Node request and response. Also the Host of any request.

import type { IncomingHttpHeaders } from 'node:http';
import type { ResponseSink } from './sink.ts';

export interface RequestView {
  readonly method: string;
  /** The request target in origin form (path and query). */
  readonly url: string;
  /** Lower-case names, no pseudo-headers; a Host. */
  readonly headers: IncomingHttpHeaders;
  /** The client's address in its plain form, '' when unknown. */
  readonly client: string;
  readonly scheme: 'http' | 'https';
}

/** What an action offers a wrapper that makes requests of its own (a cache). */
export interface Fetcher {
  /** Sends `req` (it has no body) and writes the answer, or an error page, to `out`. */
  fetch(req: RequestView, out: ResponseSink): FetchHandle;
}

export interface FetchHandle {
  /** The upstream now answering, for the access log of whoever waits on it. */
  readonly upstream: string;
  /** The answer is not wanted any more: stop it (nothing more reaches the sink). */
  abort(): void;
}

/** The Host a request is for: the Host header, or HTTP/2's :authority. */
export function requestHost(req: { readonly headers: IncomingHttpHeaders }): string | undefined {
  return req.headers.host ?? (req.headers[':authority'] as string | undefined);
}
