// HTTPS clients for tests: HTTP/1.1 and HTTP/2 requests to 127.0.0.1 with a chosen server name,
// verified against a given root; and the certificate a handshake presents.

import { connect as h2connect } from 'node:http2';
import { request } from 'node:https';
import { connect as tlsConnect } from 'node:tls';

export interface TlsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  alpn: string;
}

export function httpsGet(port: number, name: string, path: string, ca: string): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, servername: name, ca, headers: { host: name }, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, alpn: 'http/1.1' }));
    });
    req.on('error', reject);
    req.end();
  });
}

export function h2Get(port: number, name: string, path: string, ca: string): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://${name}:${port}`, {
      createConnection: () => tlsConnect({ host: '127.0.0.1', port, servername: name, ca, ALPNProtocols: ['h2'] }),
    });
    session.on('error', reject);
    const stream = session.request({ ':path': path });
    let text = '';
    let headers: Record<string, string | string[] | undefined> = {};
    stream.on('response', (h) => (headers = h as typeof headers));
    stream.on('data', (d) => (text += d));
    stream.on('end', () => {
      const alpn = session.alpnProtocol ?? '';
      session.close();
      resolve({ status: Number(headers[':status']), headers, text, alpn });
    });
    stream.on('error', reject);
  });
}

/** Serial number of the certificate presented for `name`, checked against `ca`. */
export function servedSerial(port: number, name: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: name, ca }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial);
    });
    socket.on('error', reject);
  });
}
