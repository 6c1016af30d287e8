// Which certificate a TLS handshake gets, by server name: exact names first, then a wildcard one
// label up. A name edge has no certificate for fails the handshake: no default certificate, so
// a scanner asking for an unknown name learns nothing of the names edge does serve.

import type { SecureContext } from 'node:tls';
import { isIP } from 'node:net';

export class UnknownServerNameError extends Error {
  readonly code = 'EUNKNOWNSNI';
  constructor(name: string) {
    super(`no certificate for server name "${name}"`);
    this.name = 'UnknownServerNameError';
  }
}

export class CertificateTable {
  private readonly contexts = new Map<string, SecureContext>();
  /** Served to clients that send no server name (they asked for an IP address). */
  private ipContext: SecureContext | undefined;

  set(names: readonly string[], context: SecureContext): void {
    for (const name of names) {
      this.contexts.set(name.toLowerCase(), context);
      if (isIP(name)) this.ipContext = context;
    }
  }

  delete(names: readonly string[]): void {
    for (const name of names) this.contexts.delete(name.toLowerCase());
  }

  has(name: string): boolean {
    return this.lookup(name) !== undefined;
  }

  lookup(servername: string): SecureContext | undefined {
    const name = servername.toLowerCase();
    const exact = this.contexts.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    return dot > 0 ? this.contexts.get(`*${name.slice(dot)}`) : undefined;
  }

  /** The context for a handshake without SNI: only an IP-address certificate, never a named one. */
  get defaultContext(): SecureContext | undefined {
    return this.ipContext;
  }
}
