// Request bodies of routes with request buffering off, held when small enough to send twice: a
// body up to a limit (the request buffer's memory part, 64 KiB) is read into memory before the
// first attempt, so a retry can replay it; a larger one streams through once and a request
// carrying it is never sent to a second upstream. (With buffering on, the spool is replayable.)

import { PassThrough, Readable } from 'node:stream';

/** Either the whole body (replayable) or a stream of it (once only). */
export type HeldBody = { chunks: Buffer[] } | { stream: Readable };

/**
 * Reads `source` into memory while it stays within `limit` bytes and calls `ready` once it ends.
 * Past the limit, `ready` gets a stream of what was read followed by the rest. An aborted body
 * never calls `ready`: whoever noticed the abort answers the client.
 */
export function holdBody(source: Readable, length: number | undefined, limit: number, ready: (body: HeldBody) => void): void {
  if (length !== undefined && length > limit) {
    ready({ stream: source });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size <= limit) return;
    source.off('data', onData);
    source.off('end', onEnd);
    source.pause();
    const rest = new PassThrough();
    for (const c of chunks) rest.write(c);
    source.pipe(rest);
    ready({ stream: rest });
  };
  const onEnd = () => ready({ chunks });
  source.on('data', onData);
  source.once('end', onEnd);
}

export function replay(body: { chunks: Buffer[] }): Readable {
  return Readable.from(body.chunks, { objectMode: false });
}
