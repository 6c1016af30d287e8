// ACME challenge material edge is answering right now: HTTP-01 key authorizations by token, and
// TLS-ALPN-01 certificates by name (served only to handshakes that offer "acme-tls/1").

import type { SecureContext } from 'node:tls';
import { secureContext } from './context.ts';

export const HTTP01_PREFIX = '/.well-known/acme-challenge/';

export class Challenges {
  private readonly http = new Map<string, string>();
  private readonly alpn = new Map<string, SecureContext>();

  setHttp(token: string, keyAuthorization: string): void {
    this.http.set(token, keyAuthorization);
  }

  deleteHttp(token: string): void {
    this.http.delete(token);
  }

  /** The key authorization for a request path, if it is a pending HTTP-01 challenge. */
  httpAnswer(path: string): string | undefined {
    if (this.http.size === 0 || !path.startsWith(HTTP01_PREFIX)) return undefined;
    return this.http.get(path.slice(HTTP01_PREFIX.length));
  }

  /** The self-signed challenge certificate for `name` (PEM, so the supervisor can pass it to workers). */
  setAlpn(name: string, cert: { certPem: string; keyPem: string }): void {
    this.alpn.set(name.toLowerCase(), secureContext(cert));
  }

  deleteAlpn(name: string): void {
    this.alpn.delete(name.toLowerCase());
  }

  alpnContext(name: string): SecureContext | undefined {
    return this.alpn.get(name.toLowerCase());
  }

  /** True while a TLS-ALPN-01 challenge is pending: only then are handshakes inspected. */
  get alpnPending(): boolean {
    return this.alpn.size > 0;
  }
}
