// The response object edge's servers create for every request: Node's ServerResponse plus the few
// facts the access log and error handling need, kept as plain fields (no per-request maps).

import { ServerResponse, type ClientRequest, type IncomingMessage } from 'node:http';

export class EdgeResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  /** performance.now() when the request arrived. */
  startedAt = 0;
  /** Body bytes sent to the client. */
  bodyBytes = 0;
  /** The upstream that served (or failed) the request, for logs. */
  upstream = '';
  /** The request to the upstream now under way, if any. */
  upstreamRequest: ClientRequest | undefined = undefined;
  /** Set once a request has been sent again after a stale keep-alive connection failed it. */
  retried = false;
}
