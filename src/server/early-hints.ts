// 103 Early Hints (RFC 8297) to a client, on HTTP/1.1 and HTTP/2 alike: only before the final
// response and never to an HTTP/1.0 client, which has no 1xx (RFC 9110 15.2). A hint Node will not
// write (a Link it finds malformed, a field HTTP/2 forbids) is dropped: hints are optional, and the
// final response must still go out.

import type { EdgeRes } from './response.ts';

export function sendEarlyHints(res: EdgeRes, hints: Record<string, string | string[]>): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const req = res.req;
  if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return;
  try {
    res.writeEarlyHints(hints);
  } catch {
    // malformed hints from the app: the response itself is unaffected
  }
}
