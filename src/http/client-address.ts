// The client's address as every part of edge sees it: a listener on [::] hands an IPv4 client
// over as the IPv4-mapped IPv6 form (::ffff:127.0.0.1), which nginx and the apps behind edge
// know as plain 127.0.0.1. Read once per request here, so the forwarded headers, the access log,
// ip_hash and anything later (allow-lists, rate limits) agree on one form.

const MAPPED = '::ffff:';

/** `::ffff:a.b.c.d` → `a.b.c.d`; any other address as it is. */
export function plainAddress(address: string): string {
  // a mapped IPv4 address has a dot; ::ffff:1:2 is a plain IPv6 address
  return address.startsWith(MAPPED) && address.includes('.', MAPPED.length) ? address.slice(MAPPED.length) : address;
}

/** The plain address of a socket's peer, or undefined once it is gone (a destroyed socket has none). */
export function clientAddress(socket: { remoteAddress?: string | undefined } | undefined): string | undefined {
  const address = socket?.remoteAddress;
  return address === undefined ? undefined : plainAddress(address);
}
