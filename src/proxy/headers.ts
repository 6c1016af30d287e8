// Header rules at the proxy boundary: hop-by-hop headers (RFC 9110 7.6.1) stay on their hop, in
// both directions, and the upstream learns who the client is through the X-Forwarded-* set.

import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { requestClient } from '../http/client-address.ts';
import { requestHost, type EdgeRequest } from '../server/response.ts';

/** Hop-by-hop headers, plus Proxy-* which only ever concern the hop to a proxy. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade',
]);

const HOP_LENGTHS = new Uint8Array(32);
for (const name of HOP_BY_HOP) HOP_LENGTHS[name.length] = 1;

/** Connection's own tokens that are not header names. */
const CONNECTION_OPTIONS = new Set(['close', 'keep-alive', 'upgrade']);

/**
 * Rewrites the client's request headers in place for the upstream. `websocket` keeps the
 * Upgrade/Connection pair an upgrade needs; a body's framing is the upstream client's to choose
 * (undici sends a body of unknown length chunked).
 */
export function prepareRequestHeaders(req: EdgeRequest, websocket: boolean): void {
  prepareHeaders(req.headers, requestClient(req), (req.socket as TLSSocket).encrypted === true, websocket);
}

/** The same for headers of a request of the given client and scheme (a cache's own fetch). */
export function prepareHeaders(h: IncomingHttpHeaders, client: string, https: boolean, websocket: boolean): void {
  const connection = h.connection;
  if (connection !== undefined) {
    dropListed(h, connection);
    delete h.connection;
  }
  const upgrade = h.upgrade;
  for (const name of HOP_BY_HOP) {
    if (h[name] !== undefined) delete h[name];
  }
  if (websocket && upgrade !== undefined) {
    h.connection = 'upgrade';
    h.upgrade = upgrade;
  }
  // edge answered any "Expect: 100-continue" itself
  if (h.expect !== undefined) delete h.expect;

  const prior = h['x-forwarded-for'];
  h['x-forwarded-for'] = prior ? `${prior}, ${client}` : client;
  h['x-real-ip'] = client;
  h['x-forwarded-proto'] = https ? 'https' : 'http';
  const host = requestHost({ headers: h });
  if (host !== undefined) h['x-forwarded-host'] = host;
}

/** The headers for undici: HTTP/1.1's as prepared; HTTP/2's without pseudo-headers, :authority as Host. */
export function upstreamRequestHeaders(req: { readonly headers: IncomingHttpHeaders; readonly httpVersionMajor?: number }): IncomingHttpHeaders {
  const h = req.headers;
  if (req.httpVersionMajor !== 2) return h;
  const out: IncomingHttpHeaders = {};
  for (const name in h) if (name.charCodeAt(0) !== 58 /* : */) out[name] = h[name];
  out.host ??= h[':authority'] as string | undefined;
  return out;
}

function dropListed(h: IncomingHttpHeaders, connection: string): void {
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && !CONNECTION_OPTIONS.has(name) && name !== 'host') delete h[name];
  }
}

/**
 * The upstream response's headers as a flat [name, value, ...] list for writeHead, hop-by-hop
 * ones and those named in its Connection header left out. Case and repeats (Set-Cookie) are kept.
 */
export function responseHeaders(given: readonly (string | Buffer)[]): string[] {
  // undici hands raw header bytes; latin1 keeps every byte as it came, as Node's own parser does
  const raw = typeof given[0] === 'string' ? (given as readonly string[]) : given.map(latin1);
  let listed: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection') {
      for (const token of raw[i + 1]!.split(',')) {
        const name = token.trim().toLowerCase();
        if (name !== '' && !CONNECTION_OPTIONS.has(name)) (listed ??= new Set()).add(name);
      }
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // only names as long as a hop-by-hop one need lower-casing and a look-up
    if ((HOP_LENGTHS[name.length] === 1 && HOP_BY_HOP.has(name.toLowerCase())) || listed?.has(name.toLowerCase())) continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
}

function latin1(b: string | Buffer): string {
  return typeof b === 'string' ? b : b.toString('latin1');
}
