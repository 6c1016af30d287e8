// The client's address as every part of edge sees it: a listener on [::] hands an IPv4 client
// over as the IPv4-mapped IPv6 form (::ffff:127.0.0.1), which nginx and the apps behind edge
// know as plain 127.0.0.1. Behind a trusted proxy (`trusted_proxies`), the client is the
// right-most untrusted entry of X-Forwarded-For, as nginx's real_ip_recursive finds it. Found once
// per request (the handler calls resolveClient), so the forwarded headers, the access log, ip_hash,
// allow-lists and rate limits agree on one address.

import { AddressRanges, parseAddress } from './address-ranges.ts';

const MAPPED = '::ffff:';
const CLIENT = Symbol('edge.client');
/** On a connection whose PROXY header (proxy_protocol) named its client: that client. */
export const PROXIED = Symbol('edge.proxied');

type Peer = { remoteAddress?: string | undefined; [PROXIED]?: string; _parent?: Peer };

interface HasSocket {
  socket?: Peer | null | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/** `::ffff:a.b.c.d` → `a.b.c.d`; any other address as it is. */
export function plainAddress(address: string): string {
  // a mapped IPv4 address has a dot; ::ffff:1:2 is a plain IPv6 address
  return address.startsWith(MAPPED) && address.includes('.', MAPPED.length) ? address.slice(MAPPED.length) : address;
}

/**
 * The plain address of a socket's peer, or undefined once it is gone (a destroyed socket has
 * none). A TLS socket's PROXY header was read on the TCP socket under it (_parent).
 */
export function clientAddress(socket: Peer | null | undefined): string | undefined {
  const address = socket?.[PROXIED] ?? socket?._parent?.[PROXIED] ?? socket?.remoteAddress;
  return address === undefined ? undefined : plainAddress(address);
}

/** The request's client: as resolveClient found it, else its socket's peer ('' once gone). */
export function requestClient(req: HasSocket): string {
  return (req as { [CLIENT]?: string })[CLIENT] ?? clientAddress(req.socket) ?? '';
}

/** The proxies whose X-Forwarded-For edge believes. */
export class TrustedProxies {
  private readonly ranges: AddressRanges;

  constructor(ranges: readonly string[]) {
    this.ranges = new AddressRanges(ranges);
  }

  trusts(address: string): boolean {
    return this.ranges.has(parseAddress(address));
  }

  /**
   * From a trusted `peer`: walks X-Forwarded-For from the right past trusted entries; the first
   * untrusted one is the client (all trusted: the left-most). An entry that is not an address
   * stops the walk at the hop that sent it. `kept` is what stays left of the client.
   */
  forwarded(peer: string, header: string): { client: string; kept: string[] } {
    const entries = header.split(',');
    let client = peer;
    let i = entries.length - 1;
    for (; i >= 0; i--) {
      const entry = bareAddress(entries[i]!.trim());
      if (entry === undefined) break;
      client = entry;
      if (!this.trusts(entry)) break;
    }
    const kept = entries.slice(0, Math.max(i, 0)).map((e) => e.trim()).filter((e) => e !== '');
    return { client, kept };
  }
}

/**
 * Sets the request's client, given a TrustedProxies (or none: the peer, whatever the client sent).
 * From a trusted peer X-Forwarded-For is cut down to the entries left of the client, so the
 * upstream's copy ends with the client edge settled on. Returns the client.
 */
export function resolveClient(req: HasSocket, trust: TrustedProxies | undefined): string {
  const peer = clientAddress(req.socket);
  if (peer === undefined || trust === undefined || !trust.trusts(peer)) return peer ?? '-';
  const raw = req.headers['x-forwarded-for'];
  if (raw === undefined) return peer;
  const { client, kept } = trust.forwarded(peer, Array.isArray(raw) ? raw.join(',') : raw);
  (req as { [CLIENT]?: string })[CLIENT] = client;
  if (kept.length > 0) req.headers['x-forwarded-for'] = kept.join(', ');
  else delete req.headers['x-forwarded-for'];
  return client;
}

/** `1.2.3.4`, `1.2.3.4:80`, `[::1]`, `[::1]:80`, `::ffff:1.2.3.4` → the plain address; undefined if none. */
function bareAddress(entry: string): string | undefined {
  let text = entry;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return undefined;
    text = text.slice(1, end);
  } else {
    const colon = text.indexOf(':');
    // one colon: an IPv4 address with a port
    if (colon >= 0 && colon === text.lastIndexOf(':')) text = text.slice(0, colon);
  }
  return parseAddress(text) === undefined ? undefined : plainAddress(text);
}
