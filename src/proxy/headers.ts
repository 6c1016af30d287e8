// Header rules at the proxy boundary: hop-by-hop headers (RFC 9110 7.6.1) stay on their hop, in
// both directions, and the upstream learns who the client is through the X-Forwarded-* set.

import type { IncomingHttpHeaders } from 'node:http';
import type { TLSSocket } from 'node:tls';
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
 * Upgrade/Connection pair an upgrade needs; a chunked body stays chunked (Node re-frames it).
 */
export function prepareRequestHeaders(req: EdgeRequest, websocket: boolean): void {
  const h = req.headers;
  const connection = h.connection;
  if (connection !== undefined) {
    dropListed(h, connection);
    delete h.connection;
  }
  const chunked = h['transfer-encoding'] !== undefined;
  const upgrade = h.upgrade;
  for (const name of HOP_BY_HOP) {
    if (h[name] !== undefined) delete h[name];
  }
  if (chunked) h['transfer-encoding'] = 'chunked';
  if (websocket && upgrade !== undefined) {
    h.connection = 'upgrade';
    h.upgrade = upgrade;
  }
  // edge answered any "Expect: 100-continue" itself
  if (h.expect !== undefined) delete h.expect;

  const client = req.socket.remoteAddress ?? '';
  const prior = h['x-forwarded-for'];
  h['x-forwarded-for'] = prior ? `${prior}, ${client}` : client;
  h['x-real-ip'] = client;
  h['x-forwarded-proto'] = (req.socket as TLSSocket).encrypted === true ? 'https' : 'http';
  const host = requestHost(req);
  if (host !== undefined) h['x-forwarded-host'] = host;
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
export function responseHeaders(raw: readonly string[]): string[] {
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
