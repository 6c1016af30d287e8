// The short plain-text pages edge answers with itself (errors, refusals): never a stack trace.
// Written to a ResponseSink, so whatever wraps the action (compression, the cache) sees them too.

import { STATUS_CODES } from 'node:http';
import type { ResponseSink } from './sink.ts';

/**
 * Writes the page for `status` to `out`; a HEAD gets the head alone. `close` adds Connection:
 * close (HTTP/1.1 only: HTTP/2 forbids the field). Returns the body bytes sent, for the access log.
 */
export function writeStatusPage(out: ResponseSink, status: number, head: boolean, extra?: Readonly<Record<string, string>>, close = false): number {
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  const fields = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(body.length), 'x-content-type-options', 'nosniff'];
  if (extra !== undefined) for (const name in extra) fields.push(name, extra[name]!);
  if (close) fields.push('connection', 'close');
  out.onHead(status, fields);
  if (head) {
    out.onEnd();
    return 0;
  }
  out.onEnd(Buffer.from(body));
  return body.length;
}
