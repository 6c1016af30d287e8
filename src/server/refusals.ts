// Requests refused before routing, as nginx refuses them: a Host that is not one value (RFC 9112
// 3.2, RFC 9113 8.3.1), a transfer-coding the upstream could not decode or HTTP/1.0 cannot have
// (RFC 9112 6.1), and the methods a reverse proxy does not serve: TRACE (it would echo the
// client's cookies back to a script) and CONNECT (edge is no tunnel).

import type { EdgeRequest } from './response.ts';

/** What a 405 from edge offers instead (RFC 9110 15.5.6 wants the list). */
export const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/** The status to refuse `req` with, or 0 when it may go on. */
export function refusal(req: EdgeRequest): number {
  if (hostConflict(req.rawHeaders)) return 400;
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    if (req.httpVersion === '1.0') return 400;
    // Node strips only the chunked framing; another coding (gzip, chunked) would reach the
    // upstream unlabelled
    if (te.toLowerCase() !== 'chunked') return 501;
  }
  const method = req.method;
  if (method === 'TRACE' || method === 'CONNECT') return 405;
  return 0;
}

/**
 * Two Host fields, or an HTTP/2 :authority another Host contradicts. Node keeps the first Host
 * and drops the rest, so only the raw list shows it.
 */
function hostConflict(raw: string[]): boolean {
  let host: string | undefined;
  let authority: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host')) {
      if (host !== undefined) return true;
      host = raw[i + 1]!;
    } else if (name === ':authority') {
      authority = raw[i + 1]!;
    }
  }
  return host !== undefined && authority !== undefined && host.toLowerCase() !== authority.toLowerCase();
}
