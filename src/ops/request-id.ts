// X-Request-Id: one id per request, the client's (or a proxy's in front) when it sent a sane one,
// else a new UUID. It is kept in the request's own headers, so the upstream receives it with the
// others and both logs read it from one place.

import { randomUUID } from 'node:crypto';

/** Anything with request headers (HTTP/1.1 and HTTP/2 requests alike). */
export interface Traced {
  headers: Record<string, string | string[] | undefined>;
}

const HEADER = 'x-request-id';
/** Visible ASCII without quotes or backslashes, so the id can go into a log line unescaped. */
const SANE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;

/** Keeps an incoming id that is safe to log, else sets a new one; returns it. */
export function assignRequestId(req: Traced): string {
  const given = req.headers[HEADER];
  if (typeof given === 'string' && SANE.test(given)) return given;
  const id = randomUUID();
  req.headers[HEADER] = id;
  return id;
}

export function requestIdOf(req: Traced): string | undefined {
  const id = req.headers[HEADER];
  return typeof id === 'string' ? id : undefined;
}
