// Answers a GET or HEAD for one representation of a file (the file itself or a precompressed
// sidecar): conditional requests, a byte range, then the body from memory (small files) or
// streamed from the open file with backpressure, all through the route's ResponseSink.

import type { FileHandle } from 'node:fs/promises';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Encoding } from '../config/static-schema.ts';
import { toFields, type ResponseSink } from '../http/sink.ts';
import type { Logger } from '../ops/log.ts';
import { addVary } from '../compress/policy.ts';
import type { EdgeRequest, EdgeRes } from '../server/response.ts';
import { sendStatus } from '../server/status.ts';
import { SMALL_FILE, type FileCache, type FileEntry } from './files.ts';
import { evaluate, ifRangeHolds, type Validators } from './preconditions.ts';
import { contentRange, parseRange, type ByteRange } from './range.ts';

export interface Representation {
  /** The file to read. */
  path: string;
  entry: FileEntry;
  /** The Content-Type of the original file (a sidecar's own extension says nothing). */
  type: string;
  /** The sidecar's coding, if this is one. */
  coding: Encoding | undefined;
  /** Whether other encodings of the same file exist (Vary: Accept-Encoding). */
  varies: boolean;
}

/** Extra headers of the route, lower-cased; they may replace Content-Type and Cache-Control, not framing or validators. */
export type ExtraHeaders = Readonly<Record<string, string>>;

/** Serves `rep`; false when the file went away since it was looked up (the caller answers 404). */
export async function serveFile(req: EdgeRequest, res: EdgeRes, out: ResponseSink, rep: Representation, extra: ExtraHeaders, files: FileCache, logger: Logger): Promise<boolean> {
  let entry = rep.entry;
  let handle: FileHandle | undefined;
  if (entry.size <= SMALL_FILE && entry.body === undefined) {
    const loaded = await files.withBody(rep.path, entry);
    if (loaded.kind !== 'file') return false;
    entry = loaded;
  }
  if (entry.body === undefined) {
    // read validators and bytes from one open file, so a file replaced meanwhile is served whole
    const opened = await files.open(rep.path, entry);
    if (opened === undefined) return false;
    ({ handle, entry } = opened);
  }
  try {
    respond(req, res, out, rep, entry, extra, handle, logger);
    handle = undefined;
  } finally {
    await handle?.close();
  }
  return true;
}

function respond(req: EdgeRequest, res: EdgeRes, out: ResponseSink, rep: Representation, entry: FileEntry, extra: ExtraHeaders, handle: FileHandle | undefined, logger: Logger): void {
  const h = req.headers;
  const method = req.method!;
  const v: Validators = { etag: rep.coding === undefined ? entry.etag : `${entry.etag.slice(0, -1)}-${rep.coding}"`, modified: entry.modified };
  const outcome = evaluate(method, {
    ifMatch: h['if-match'],
    ifNoneMatch: h['if-none-match'],
    ifModifiedSince: h['if-modified-since'],
    ifUnmodifiedSince: h['if-unmodified-since'],
  }, v);
  if (outcome === 'failed') {
    release(handle);
    sendStatus(res, 412, {}, out);
    return;
  }
  const headers: OutgoingHttpHeaders = { 'content-type': rep.type, 'accept-ranges': 'bytes', ...extra, etag: v.etag, 'last-modified': entry.lastModified };
  if (rep.varies) headers.vary = addVary(extra.vary);
  if (outcome === 'not-modified') {
    release(handle);
    // a 304 carries the validators and caching headers a 200 would have had, not its framing
    delete headers['content-type'];
    delete headers['accept-ranges'];
    out.onHead(304, toFields(headers));
    out.onEnd();
    return;
  }
  let range: ByteRange | undefined;
  const rangeHeader = h.range;
  // ranges are defined for GET only (RFC 9110 14.2)
  if (rangeHeader !== undefined && method === 'GET' && ifRangeHolds(h['if-range'] as string | undefined, v)) {
    const parsed = parseRange(rangeHeader, entry.size);
    if (parsed === 'unsatisfiable') {
      release(handle);
      sendStatus(res, 416, { headers: { 'content-range': contentRange(undefined, entry.size) } }, out);
      return;
    }
    if (parsed !== 'ignore') range = parsed;
  }
  const start = range?.start ?? 0;
  const length = range === undefined ? entry.size : range.end - range.start + 1;
  headers['content-length'] = length;
  if (range !== undefined) headers['content-range'] = contentRange(range, entry.size);
  if (rep.coding !== undefined) headers['content-encoding'] = rep.coding;
  const status = range === undefined ? 200 : 206;
  if (method === 'HEAD' || length === 0) {
    release(handle);
    out.onHead(status, toFields(headers));
    out.onEnd();
    return;
  }
  if (handle === undefined) {
    out.onHead(status, toFields(headers));
    res.bodyBytes = length;
    const body = entry.body!;
    out.onEnd(range === undefined ? body : body.subarray(start, start + length));
    return;
  }
  stream(req, res, out, status, toFields(headers), handle, rep.path, start, length, logger);
}

function stream(req: EdgeRequest, res: EdgeRes, out: ResponseSink, status: number, fields: string[], handle: FileHandle, path: string, start: number, length: number, logger: Logger): void {
  // the client may have gone while the file was opened: its 'close' is not coming again
  if (res.destroyed) {
    release(handle);
    return;
  }
  // 256 KiB reads: a quarter of the thread-pool round trips of the default 64 KiB, measured
  // ~1.5-2x the throughput for a 1 MiB file, at 256 KiB of buffer per response in flight
  const file = handle.createReadStream({ start, end: start + length - 1, highWaterMark: 256 * 1024 });
  // the file stream is the body's control: paused when the sink is full, resumed by it
  out.onHead(status, fields, file);
  res.bodyBytes = length;
  file.on('error', (err) => {
    logger.error(`${req.method} ${req.url}: reading ${path} failed after the response began, cut short: ${err.message}`, req);
    out.onError();
  });
  file.on('end', () => {
    // a file cut short while it was read: the client must not take a short body for the whole
    if (file.bytesRead === length) out.onEnd();
    else out.onError();
  });
  res.once('close', () => {
    if (!file.destroyed) file.destroy();
  });
  file.on('data', (chunk) => {
    if (!out.onData(chunk as Buffer)) file.pause();
  });
}

function release(handle: FileHandle | undefined): void {
  // nothing useful to do about a failed close of a read-only file
  handle?.close().catch(() => {});
}
