// Request buffering: the client's whole body is received (memory, then a temp file) before the
// upstream request starts, so the app gets it at local speed with a Content-Length and a slow or
// aborted upload never reaches it.

import type { Readable } from 'node:stream';
import { RequestSpool, type SpooledBody, type TempFiles } from './spool.ts';

/** What a body may take in memory before it goes to a temp file (nginx's client_body_buffer_size is 8-16k). */
export const REQUEST_MEMORY = 64 * 1024;

/**
 * Reads `source` into a RequestSpool and calls `ready` with all of it once it ends. A body that
 * breaks off calls neither callback: whoever saw the abort answers the client, and the response's
 * close releases the spool. `failed` hears of a temp folder that cannot take the body.
 */
export function bufferBody(source: Readable, temp: TempFiles, failed: (err: Error) => void, ready: (body: SpooledBody) => void): RequestSpool {
  const spool = new RequestSpool(temp, REQUEST_MEMORY);
  spool.on('error', (err) => {
    source.unpipe(spool);
    failed(err);
  });
  spool.once('finish', () => ready(spool.body()));
  source.pipe(spool);
  return spool;
}
