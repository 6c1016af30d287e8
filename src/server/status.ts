// Short responses edge makes itself: errors, redirects, fixed answers.

import { STATUS_CODES } from 'node:http';
import type { EdgeRes } from './response.ts';

/** A short plain-text error page; never a stack trace. `close` ends the connection afterwards. */
export function sendStatus(res: EdgeRes, status: number, opts: { close?: boolean; headers?: Record<string, string> } = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-content-type-options': 'nosniff',
    ...opts.headers,
  };
  if (opts.close) headers.connection = 'close';
  res.writeHead(status, headers);
  if (res.req.method === 'HEAD') {
    res.end();
    return;
  }
  res.bodyBytes = body.length;
  res.end(body);
}

/** The same page for a raw socket, where an upgrade request cannot get a ServerResponse. */
export function rawStatus(status: number): string {
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;
}
