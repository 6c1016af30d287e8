// Whether a failed attempt may be sent to another upstream: the rules of `retries`, in one pure
// function. A request that never reached an upstream (connection refused, no socket file, connect
// timeout) is safe to send anywhere; one that reached it is sent again only when its method is
// idempotent (RFC 9110 9.2.2), and never after a read timeout, which means the upstream may
// still be working on it. Either way its body must be held in memory to be sent again.

export const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** Errors raised before the request could reach the upstream. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

export interface RetryFacts {
  method: string;
  /** The error's code; undefined for an answer listed in fail_status (the request reached the upstream). */
  code: string | undefined;
  /** Whether the body (if any) can be sent again. */
  replayable: boolean;
  /** Whether anything of the response reached the client. */
  headersSent: boolean;
  /** Retries already made for this request. */
  retried: number;
  retries: number;
  /** Milliseconds since the first attempt, and the bound on starting another. */
  elapsed: number;
  tryDuration: number;
}

export function mayRetry(f: RetryFacts): boolean {
  if (f.headersSent || !f.replayable || f.retried >= f.retries || f.elapsed >= f.tryDuration) return false;
  if (f.code !== undefined && NOT_CONNECTED.has(f.code)) return true;
  return IDEMPOTENT.has(f.method) && f.code !== 'EUPSTREAM_TIMEOUT';
}
