// One DNS exchange with one server: over UDP, and again over TCP when the answer comes back
// truncated (or the UDP socket fails). Each exchange is bounded in time; a server that does not
// answer is an error naming it.

import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { isIPv6 } from 'node:net';

export interface DnsServer {
  host: string;
  port: number;
}

export class DnsError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'DnsError';
    this.code = code;
  }
}

export function describeServer(s: DnsServer): string {
  return isIPv6(s.host) ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

/** "10.0.0.53", "10.0.0.53:5353", "[::1]:53", "ns1.example.com" → host and port (default 53). */
export function parseServer(text: string): DnsServer {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracket) return { host: bracket[1]!, port: Number(bracket[2] ?? 53) };
  const colon = text.lastIndexOf(':');
  if (colon > 0 && text.indexOf(':') === colon) return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
  return { host: text, port: 53 };
}

function udp(server: DnsServer, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    const id = message.readUInt16BE(0);
    const done = (err: Error | undefined, answer?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => done(new DnsError('ETIMEOUT', `DNS server ${describeServer(server)}: no answer in ${timeoutMs / 1000} s`)), timeoutMs);
    socket.on('error', (err) => done(new DnsError('ESOCKET', `DNS server ${describeServer(server)}: ${err.message}`)));
    socket.on('message', (answer) => {
      // a stray datagram (an old answer, someone else's) is not ours
      if (answer.length >= 12 && answer.readUInt16BE(0) === id) done(undefined, answer);
    });
    socket.send(message, server.port, server.host);
  });
}

function tcp(server: DnsServer, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    const done = (err: Error | undefined, answer?: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => done(new DnsError('ETIMEOUT', `DNS server ${describeServer(server)}: no answer over TCP in ${timeoutMs / 1000} s`)), timeoutMs);
    socket.on('error', (err) => done(new DnsError('ESOCKET', `DNS server ${describeServer(server)}: ${err.message}`)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) done(undefined, received.subarray(2, 2 + received.readUInt16BE(0)));
    });
    socket.on('end', () => done(new DnsError('ECLOSED', `DNS server ${describeServer(server)} closed the TCP connection without an answer`)));
    const length = Buffer.alloc(2);
    length.writeUInt16BE(message.length);
    socket.end(Buffer.concat([length, message]));
  });
}

/** Sends `message` and returns the answer; `truncated` tells whether to ask again over TCP. */
export async function exchange(server: DnsServer, message: Buffer, truncated: (answer: Buffer) => boolean, timeoutMs = 5000): Promise<Buffer> {
  let answer: Buffer;
  try {
    answer = await udp(server, message, timeoutMs);
  } catch (err) {
    if ((err as DnsError).code !== 'ESOCKET') throw err;
    return tcp(server, message, timeoutMs);
  }
  return truncated(answer) ? tcp(server, message, timeoutMs) : answer;
}
