// Failing to reach the ACME CA, said as such. acme-client sends its requests through axios and,
// once its own retries are spent, passes a response-less (network) error to a status check that
// reads `response.config`: the user saw "Cannot read properties of undefined (reading 'config')"
// and nothing of the refused connection. A wrapped adapter turns such an error into an
// AcmeUnreachableError naming the URL, the reason and what to do; acme-client hands on any error
// without `config` untouched.

import { createRequire } from 'node:module';
import * as acme from 'acme-client';

/** Base class of edge's ACME failures (acme.ts re-exports it). */
export class AcmeError extends Error {
  readonly code = 'EACME';
  /** The CA's Retry-After, when it sent one. */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super(message);
    this.name = 'AcmeError';
    this.retryAfterMs = retryAfterMs;
  }
}

export class AcmeUnreachableError extends AcmeError {
  /** The system's or TLS's code: ECONNREFUSED, ENOTFOUND, DEPTH_ZERO_SELF_SIGNED_CERT, ... */
  readonly reason: string;
  readonly url: string;
  constructor(url: string, what: string, reason: string) {
    super(`cannot reach ${what} ${url}: ${describeReason(reason)} (${reason}); ${advice(reason)}`);
    this.name = 'AcmeUnreachableError';
    this.reason = reason;
    this.url = url;
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'its name does not resolve',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'timed out',
  ECONNABORTED: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPROTO: 'TLS handshake failed',
};

function describeReason(code: string): string {
  if (REASONS[code]) return REASONS[code];
  if (isTlsCode(code)) return 'its TLS certificate is not trusted';
  return 'request failed';
}

function advice(code: string): string {
  if (isTlsCode(code)) return 'for a private CA or Pebble, set acme.ca_root (--acme-ca-root) to the root that signed its HTTPS certificate';
  return 'check acme.ca (--acme-ca) and that this machine can reach the CA (network, firewall, DNS, proxy)';
}

function isTlsCode(code: string): boolean {
  return /CERT|SIGNATURE|ISSUER|SELF_SIGNED|ERR_TLS/.test(code);
}

type AxiosConfig = { url?: string; retryAttempt?: number };
type Adapter = (config: AxiosConfig) => Promise<unknown>;

/** acme-client's own axios (the one its instance was made from), for its HTTP adapter. */
const axios = createRequire(import.meta.resolve('acme-client'))('axios') as { getAdapter(name: string): Adapter };

/**
 * Wraps the HTTP adapter of acme-client's (process-wide) axios instance. Network errors still go
 * through acme-client's retries; only the last one, which it would lose, becomes an
 * AcmeUnreachableError. `directoryUrl` names the directory in the message when it is the URL.
 */
export function reportUnreachable(directoryUrl: string): void {
  const http = axios.getAdapter('http');
  const settings = acme.axios.defaults as { acmeSettings?: { retryMaxAttempts?: number } };
  acme.axios.defaults.adapter = (async (config: AxiosConfig) => {
    try {
      return await http(config);
    } catch (err) {
      const e = err as { response?: unknown; code?: string; cause?: { code?: string } };
      const code = e.cause?.code ?? e.code;
      if (e.response !== undefined || code === undefined) throw err;
      // acme-client retries network errors (not timeouts) up to retryMaxAttempts times
      const retriesLeft = code !== 'ECONNABORTED' && (config.retryAttempt ?? 0) < (settings.acmeSettings?.retryMaxAttempts ?? 0);
      if (retriesLeft) throw err;
      const url = config.url ?? directoryUrl;
      throw new AcmeUnreachableError(url, url === directoryUrl ? 'the ACME directory' : 'the ACME CA at', code);
    }
  }) as never;
}
