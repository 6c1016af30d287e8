// Short responses edge makes itself: errors, redirects, fixed answers.

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ResponseSink } from '../http/sink.ts';
import { writeStatusPage } from '../http/status-page.ts';
import { EdgeResponse, type EdgeRes } from './response.ts';

/**
 * A short plain-text error page; never a stack trace. `close` ends the connection afterwards.
 * Written to `out`, the sink the action was given (its wrappers see it), for the exchange `res`.
 */
export function sendStatus(res: EdgeRes, status: number, opts: { close?: boolean; headers?: Record<string, string> } = {}, out: ResponseSink = res): void {
  if (res.headersSent) {
    out.onError();
    return;
  }
  const head = res.req.method === 'HEAD';
  // HTTP/2 has no Connection field (Node drops it with a warning): a stream ends on its own
  const bytes = writeStatusPage(out, status, head, opts.headers, opts.close === true && res instanceof EdgeResponse);
  if (!head) res.bodyBytes = bytes;
}

/** The same page for a raw socket, where an upgrade request cannot get a ServerResponse. */
export function rawStatus(status: number, headers: Record<string, string> = {}): string {
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  let extra = '';
  for (const name in headers) extra += `${name}: ${headers[name]}\r\n`;
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n${extra}connection: close\r\n\r\n${body}`;
}

/** Writes `rawStatus` and closes the socket once it is out; returns the body bytes, for the access log. */
export function answerRaw(socket: Duplex, status: number, headers?: Record<string, string>): number {
  socket.write(rawStatus(status, headers));
  // the client may keep its side open: close both once the answer is flushed
  const s = socket as Duplex & Partial<Pick<Socket, 'destroySoon'>>;
  if (typeof s.destroySoon === 'function') s.destroySoon();
  else socket.end();
  return Buffer.byteLength(`${status} ${STATUS_CODES[status] ?? ''}\n`);
}
