// Which admin requests may change state: a browser on this machine can send a simple POST to
// 127.0.0.1 from any page, and the Host check alone does not stop that (the Host is right). A
// browser says where a request comes from (Origin, Sec-Fetch-Site); edge's own commands and curl
// send neither. As Caddy's admin API does, a state-changing request that a browser marks as coming
// from anywhere but the admin endpoint itself is refused.

import type { IncomingMessage } from 'node:http';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Names that reach a loopback admin endpoint: a page served at any of them on its port is the endpoint. */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** Why `req` must not change state, or undefined when it may (or changes nothing). */
export function crossSiteReason(req: IncomingMessage): string | undefined {
  if (SAFE_METHODS.has(req.method ?? 'GET')) return undefined;
  const fetchSite = req.headers['sec-fetch-site'];
  if (fetchSite === 'cross-site' || fetchSite === 'same-site') return `Sec-Fetch-Site: ${fetchSite}`;
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  // over a Unix socket there is no origin a page could share with the endpoint
  if (req.socket.remoteFamily === undefined) return `Origin ${JSON.stringify(origin)} on a Unix socket`;
  return isOwnOrigin(origin, req.socket.localAddress, req.socket.localPort) ? undefined : `Origin ${JSON.stringify(origin)} is not the admin endpoint's`;
}

/** `origin` is http://NAME:PORT where PORT is the one the request came in on and NAME reaches it. */
function isOwnOrigin(origin: string, localAddress: string | undefined, localPort: number | undefined): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed pages, file:) and anything unparsable
  }
  if (url.protocol !== 'http:' || url.username || url.password || url.pathname !== '/') return false;
  if (Number(url.port || 80) !== localPort) return false;
  const host = url.hostname.toLowerCase();
  return LOOPBACK_NAMES.includes(host) || (localAddress !== undefined && host === addressName(localAddress));
}

/** The socket's address as a URL writes it: IPv4 as is (also when mapped into IPv6), IPv6 in brackets. */
function addressName(address: string): string {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.includes(':') ? `[${v4.toLowerCase()}]` : v4;
}
