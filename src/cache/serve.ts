// Writing stored responses to clients through the route's sink: a hit is one head reused for the
// whole second and the stored Buffer as its end; stale answers and 304s build their head per request.

import type { ResponseSink } from '../http/sink.ts';
import type { EdgeRequest, EdgeRes } from '../server/response.ts';
import { sendStatus } from '../server/status.ts';
import type { CacheEntry } from './entry.ts';
import { notModified, NOT_MODIFIED_FIELDS } from './policy/conditional.ts';
import { currentAge } from './policy/freshness.ts';

export function ageOf(entry: CacheEntry, now: number): number {
  return Math.floor(currentAge(entry.initialAge, entry.responseTime, now));
}

/** A fresh hit: the common case, kept to a look-up of the per-second head and two calls. */
export function serveHit(req: EdgeRequest, res: EdgeRes, out: ResponseSink, entry: CacheEntry, now: number): void {
  const h = req.headers;
  if ((h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined) && entry.status === 200 && notModified(h['if-none-match'], h['if-modified-since'], entry.etag, entry.lastModified)) {
    serveNotModified(out, entry, now, `edge; hit; ttl=${entry.lifetime - ageOf(entry, now)}`);
    return;
  }
  const second = Math.floor(now);
  let head = entry.hitHead;
  if (entry.hitSecond !== second) {
    const age = ageOf(entry, now);
    head = entry.hitHead = [...entry.head, 'age', String(age), 'cache-status', `edge; hit; ttl=${entry.lifetime - age}`];
    entry.hitSecond = second;
  }
  out.onHead(entry.status, head);
  if (req.method === 'HEAD') {
    out.onEnd();
    return;
  }
  res.bodyBytes = entry.body.length;
  out.onEnd(entry.body);
}

/** A stored response with its own Cache-Status (stale, revalidated); honours the client's conditionals. */
export function serveStored(req: EdgeRequest, res: EdgeRes, out: ResponseSink, entry: CacheEntry, now: number, status: string): void {
  if (res.headersSent || res.destroyed) return;
  const h = req.headers;
  if (entry.status === 200 && notModified(h['if-none-match'], h['if-modified-since'], entry.etag, entry.lastModified)) {
    serveNotModified(out, entry, now, status);
    return;
  }
  out.onHead(entry.status, [...entry.head, 'age', String(ageOf(entry, now)), 'cache-status', status]);
  if (req.method === 'HEAD') {
    out.onEnd();
    return;
  }
  res.bodyBytes = entry.body.length;
  out.onEnd(entry.body);
}

function serveNotModified(out: ResponseSink, entry: CacheEntry, now: number, status: string): void {
  const head: string[] = [];
  for (const name of NOT_MODIFIED_FIELDS) {
    const v = entry.headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) head.push(name, item);
    else head.push(name, v);
  }
  head.push('age', String(ageOf(entry, now)), 'cache-status', status);
  out.onHead(304, head);
  out.onEnd();
}

/** only-if-cached with nothing usable stored (RFC 9111 5.2.1.7). */
export function gatewayTimeout(res: EdgeRes, out: ResponseSink): void {
  sendStatus(res, 504, { headers: { 'cache-status': 'edge; fwd=miss; detail=only-if-cached' } }, out);
}
