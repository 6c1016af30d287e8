// Raw sockets for the hostile tests: a TCP connection the test holds (so it can reset it), TLS over
// one, reading until a pattern shows, a WebSocket Upgrade and frame as bytes, a real ClientHello.

import { connect, createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A TLS connection over a TCP socket this test holds, so the TCP socket can be reset under TLS. */
export async function tlsOverRaw(port: number, servername: string, ca: string, alpn: string[]): Promise<{ raw: Socket; tls: TLSSocket }> {
  const raw = await rawConnect(port);
  raw.on('error', () => {});
  const tls = tlsConnect({ socket: raw, servername, ca, ALPNProtocols: alpn });
  await new Promise<void>((resolve, reject) => {
    tls.once('secureConnect', resolve);
    tls.once('error', reject);
  });
  tls.on('error', () => {});
  return { raw, tls };
}

/** Reads from `stream` until `pattern` shows in what arrived; resolves with it. */
export function readUntil(stream: Duplex, pattern: RegExp, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => done(new Error(`no ${pattern} in ${ms} ms; got ${JSON.stringify(text.slice(0, 200))}`)), ms);
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      if (pattern.test(text)) done();
    };
    const onClose = () => done(new Error(`closed before ${pattern}; got ${JSON.stringify(text.slice(0, 200))}`));
    const done = (err?: Error) => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('close', onClose);
      if (err) reject(err);
      else resolve(text);
    };
    stream.on('data', onData);
    stream.once('close', onClose);
  });
}

export function upgradeRequest(path: string, host: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n`
    + 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
}

/** A masked client text frame (RFC 6455 5.2), short payloads only. */
export function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** The first bytes a TLS client sends for `servername`: a ClientHello, captured from a real one. */
export async function captureClientHello(servername: string): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => {
      s.destroy();
      resolve(d);
    })));
    const client = tlsConnect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, servername, rejectUnauthorized: false });
    client.on('error', () => {});
    return await got;
  } finally {
    server.close();
  }
}
