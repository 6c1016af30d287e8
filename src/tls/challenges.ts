// ACME challenge material edge is answering right now: HTTP-01 key authorizations by token, and
// TLS-ALPN-01 certificates by name (served only to handshakes that offer "acme-tls/1"). In a fleet
// the material is also written to shared storage before the CA is told to validate, and a miss
// here is looked up there: the CA may reach any instance, not the one that placed the order.

import type { SecureContext } from 'node:tls';
import type { Storage } from './storage/storage.ts';
import { secureContext } from './context.ts';

export const HTTP01_PREFIX = '/.well-known/acme-challenge/';

/** ACME tokens are base64url; anything else in a challenge path is nobody's token. */
const TOKEN = /^[A-Za-z0-9_-]{1,255}$/;
const NAME = /^[a-z0-9-]+(\.[a-z0-9-]+)*$/;

export class Challenges {
  private readonly http = new Map<string, string>();
  private readonly alpn = new Map<string, SecureContext>();
  private shared: Storage | undefined;

  /** Fleet mode: material goes to `storage` too, and misses are looked up there. */
  share(storage: Storage): void {
    this.shared = storage;
  }

  /** Resolves once the answer is available to every instance (it may fail if shared storage is down). */
  async setHttp(token: string, keyAuthorization: string): Promise<void> {
    this.http.set(token, keyAuthorization);
    await this.shared?.put(httpKey(token), keyAuthorization);
  }

  async deleteHttp(token: string): Promise<void> {
    this.http.delete(token);
    await this.shared?.delete(httpKey(token)).catch(() => {});
  }

  /** The key authorization for a request path, if it is a challenge this instance placed. */
  httpAnswer(path: string): string | undefined {
    if (this.http.size === 0 || !path.startsWith(HTTP01_PREFIX)) return undefined;
    return this.http.get(path.slice(HTTP01_PREFIX.length));
  }

  /** True when a path missing here could be another instance's challenge, worth a shared look-up. */
  mayBeShared(path: string): boolean {
    return this.shared !== undefined && path.startsWith(HTTP01_PREFIX) && TOKEN.test(path.slice(HTTP01_PREFIX.length));
  }

  /** Another instance's key authorization for `path`; undefined if none, or if storage is unreachable. */
  async sharedHttpAnswer(path: string): Promise<string | undefined> {
    if (!this.mayBeShared(path)) return undefined;
    const value = await this.shared!.get(httpKey(path.slice(HTTP01_PREFIX.length))).catch(() => undefined);
    return value?.toString('utf8');
  }

  async setAlpn(name: string, cert: { certPem: string; keyPem: string }): Promise<void> {
    this.alpn.set(name.toLowerCase(), secureContext(cert));
    await this.shared?.put(alpnKey(name), JSON.stringify(cert));
  }

  async deleteAlpn(name: string): Promise<void> {
    this.alpn.delete(name.toLowerCase());
    await this.shared?.delete(alpnKey(name)).catch(() => {});
  }

  alpnContext(name: string): SecureContext | undefined {
    return this.alpn.get(name.toLowerCase());
  }

  /** The context for `name`, placed here or by another instance of the fleet. */
  async anyAlpnContext(name: string): Promise<SecureContext | undefined> {
    const local = this.alpnContext(name);
    if (local || !this.shared || !NAME.test(name.toLowerCase())) return local;
    const raw = await this.shared.get(alpnKey(name)).catch(() => undefined);
    if (!raw) return undefined;
    try {
      return secureContext(JSON.parse(raw.toString('utf8')) as { certPem: string; keyPem: string });
    } catch {
      return undefined;
    }
  }

  /**
   * True when handshakes must be inspected for "acme-tls/1": while one is pending here, and always
   * in a fleet, since another instance's challenge may arrive at this one.
   */
  get alpnPending(): boolean {
    return this.alpn.size > 0 || this.shared !== undefined;
  }
}

function httpKey(token: string): string {
  return `challenges/http-01/${token}`;
}

function alpnKey(name: string): string {
  return `challenges/tls-alpn-01/${name.toLowerCase()}`;
}
