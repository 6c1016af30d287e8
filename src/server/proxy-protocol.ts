// proxy_protocol: behind an L4 balancer (HAProxy, AWS NLB, ...) each connection opens with a
// PROXY header (v1 text or v2 binary) naming the client. A listener's connections are held until
// the header is in; from a trusted_proxies address its source becomes the connection's remote
// address as clientAddress reads it (for TLS too, through the TLS socket's parent), as if the
// client had connected itself. A connection from anyone else, or without a valid header, is closed.
// Framing is here; parsing the header is proxy-protocol-js's (v1 and v2, no dependencies).

import { isIP, type Server, type Socket } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Command, IPv4ProxyAddress, IPv6ProxyAddress, V1ProxyProtocol, V2ProxyProtocol } from 'proxy-protocol-js';
import { clientAddress, plainAddress, PROXIED, type TrustedProxies } from '../http/client-address.ts';

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** A v1 header's longest form (the spec's 107 bytes). */
const V1_MAX = 107;
/** A balancer sends the header at once; a peer that does not within this is closed. */
const HEADER_MS = 5000;

type Parsed = { source: string | undefined; length: number } | 'more' | 'bad';

/** The header at the start of `buf`: its length and source (undefined: keep the peer, e.g. LOCAL or UNKNOWN). */
export function parseProxyHeader(buf: Buffer): Parsed {
  if (buf.length >= 6 && buf.subarray(0, 6).toString('latin1') === 'PROXY ') {
    const end = buf.indexOf('\r\n');
    if (end < 0) return buf.length >= V1_MAX ? 'bad' : 'more';
    const line = buf.subarray(0, end + 2).toString('latin1');
    if (line.startsWith('PROXY UNKNOWN')) return { source: undefined, length: end + 2 };
    let source: string;
    try {
      source = V1ProxyProtocol.parse(line).source.ipAddress;
    } catch {
      return 'bad';
    }
    // the parser takes any word for an address
    return isIP(source) === 0 ? 'bad' : { source: plainAddress(source), length: end + 2 };
  }
  const sig = Math.min(buf.length, V2_SIGNATURE.length);
  if (!buf.subarray(0, sig).equals(V2_SIGNATURE.subarray(0, sig))) return 'bad';
  if (buf.length < 16) return 'more';
  const length = 16 + buf.readUInt16BE(14);
  if (buf.length < length) return 'more';
  try {
    const header = V2ProxyProtocol.parse(new Uint8Array(buf.subarray(0, length)));
    if (header.command === Command.LOCAL) return { source: undefined, length };
    const address = header.proxyAddress;
    if (address instanceof IPv4ProxyAddress) return { source: address.sourceAddress.address.join('.'), length };
    if (address instanceof IPv6ProxyAddress) return { source: plainAddress(ipaddr.fromByteArray([...address.sourceAddress.address]).toString()), length };
    return { source: undefined, length };
  } catch {
    return 'bad';
  }
}

/**
 * Puts the PROXY header reading in front of `server`'s own connection handling. `trust` is read
 * per connection, so a reload's trusted_proxies apply to new connections.
 */
export function expectProxyHeader(server: Server, trust: () => TrustedProxies | undefined): void {
  const handlers = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    socket.on('error', noop);
    const peer = clientAddress(socket);
    if (peer === undefined || !trust()?.trusts(peer)) {
      socket.destroy();
      return;
    }
    let seen: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), HEADER_MS);
    const onData = (chunk: Buffer): void => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
      const parsed = parseProxyHeader(seen);
      if (parsed === 'more') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (parsed === 'bad') {
        socket.destroy();
        return;
      }
      if (parsed.source !== undefined) (socket as Socket & { [PROXIED]?: string })[PROXIED] = parsed.source;
      socket.pause();
      if (seen.length > parsed.length) socket.unshift(seen.subarray(parsed.length));
      for (const handler of handlers) handler.call(server, socket);
      // node:http's parser reads the socket once it is flowing again, what was unshifted first
      socket.resume();
    };
    const onClose = (): void => clearTimeout(timer);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

function noop(): void {}
