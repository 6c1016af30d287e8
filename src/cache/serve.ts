// Writing stored responses to clients: a hit is one writeHead with a head reused for the whole
// second and one end() of the stored Buffer; stale answers and 304s build their head per request.

import type { EdgeRequest, EdgeRes } from '../server/response.ts';
import { sendStatus } from '../server/status.ts';
import type { CacheEntry } from './entry.ts';
import { notModified, NOT_MODIFIED_FIELDS } from './policy/conditional.ts';
import { currentAge } from './policy/freshness.ts';

export function ageOf(entry: CacheEntry, now: number): number {
  return Math.floor(currentAge(entry.initialAge, entry.responseTime, now));
}

/** A fresh hit: the common case, kept to a look-up of the per-second head and two calls. */
export function serveHit(req: EdgeRequest, res: EdgeRes, entry: CacheEntry, now: number): void {
  const h = req.headers;
  if ((h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined) && entry.status === 200 && notModified(h['if-none-match'], h['if-modified-since'], entry.etag, entry.lastModified)) {
    serveNotModified(res, entry, now, `edge; hit; ttl=${entry.lifetime - ageOf(entry, now)}`);
    return;
  }
  const second = Math.floor(now);
  let head = entry.hitHead;
  if (entry.hitSecond !== second) {
    const age = ageOf(entry, now);
    head = entry.hitHead = [...entry.head, 'age', String(age), 'cache-status', `edge; hit; ttl=${entry.lifetime - age}`];
    entry.hitSecond = second;
  }
  res.writeHead(entry.status, head);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.bodyBytes = entry.body.length;
  res.end(entry.body);
}

/** A stored response with its own Cache-Status (stale, revalidated); honours the client's conditionals. */
export function serveStored(req: EdgeRequest, res: EdgeRes, entry: CacheEntry, now: number, status: string): void {
  if (res.headersSent || res.destroyed) return;
  const h = req.headers;
  if (entry.status === 200 && notModified(h['if-none-match'], h['if-modified-since'], entry.etag, entry.lastModified)) {
    serveNotModified(res, entry, now, status);
    return;
  }
  res.writeHead(entry.status, [...entry.head, 'age', String(ageOf(entry, now)), 'cache-status', status]);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.bodyBytes = entry.body.length;
  res.end(entry.body);
}

function serveNotModified(res: EdgeRes, entry: CacheEntry, now: number, status: string): void {
  const head: string[] = [];
  for (const name of NOT_MODIFIED_FIELDS) {
    const v = entry.headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) head.push(name, item);
    else head.push(name, v);
  }
  head.push('age', String(ageOf(entry, now)), 'cache-status', status);
  res.writeHead(304, head);
  res.end();
}

/** only-if-cached with nothing usable stored (RFC 9111 5.2.1.7). */
export function gatewayTimeout(res: EdgeRes): void {
  sendStatus(res, 504, { headers: { 'cache-status': 'edge; fwd=miss; detail=only-if-cached' } });
}
