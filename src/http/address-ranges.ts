// IP addresses and CIDR ranges as config writes them (10.0.0.0/8, 192.168.1.7, ::1, fd00::/8),
// parsed once into ranges a client address is matched against. ipaddr.js does the parsing and the
// prefix matching (the library Express's proxy-addr builds on): IPv4 and IPv6 alike.

import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

export interface AddressRange {
  /** As written, for messages. */
  text: string;
  kind: 'ipv4' | 'ipv6';
  network: ipaddr.IPv4 | ipaddr.IPv6;
  bits: number;
}

/** `10.0.0.0/8`, `192.168.1.7`, `::1`, `fd00::/8` → a range; a message saying what is wrong otherwise. */
export function parseRange(text: string): AddressRange | string {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  // node's isIP takes only the plain forms (no 0x7f.1 or 127.1, which ipaddr.js would also accept)
  const family = isIP(address);
  if (family === 0) return `"${text}" is not an IP address or CIDR range (e.g. 10.0.0.0/8, 192.168.1.7, ::1, fd00::/8)`;
  const max = family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const prefix = text.slice(slash + 1);
    bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : -1;
    if (bits < 0 || bits > max) return `"${text}": the prefix length must be 0-${max}`;
  }
  let network = ipaddr.parse(address);
  // ::ffff:10.0.0.1 in the config means the IPv4 address, as clients are seen (client-address.ts)
  if (network.kind() === 'ipv6' && (network as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    network = (network as ipaddr.IPv6).toIPv4Address();
    bits -= 96;
  }
  return { text, kind: network.kind(), network, bits };
}

/** A parsed client address, or undefined for text that is not one. */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (isIP(text) === 0) return undefined;
  return ipaddr.process(text);
}

export function inRange(address: ipaddr.IPv4 | ipaddr.IPv6, range: AddressRange): boolean {
  return address.kind() === range.kind && address.match(range.network, range.bits);
}

/** A set of ranges: is an address in any of them? */
export class AddressRanges {
  private readonly ranges: AddressRange[];

  /** `texts` have passed the config schema (parseRange gave no message). */
  constructor(texts: readonly string[]) {
    this.ranges = texts.map((text) => parseRange(text) as AddressRange);
  }

  has(address: ipaddr.IPv4 | ipaddr.IPv6 | undefined): boolean {
    if (address === undefined) return false;
    for (const range of this.ranges) if (inRange(address, range)) return true;
    return false;
  }
}
