// What went wrong with an upstream, in words for the error log and a status for the client.

export class UpstreamTimeoutError extends Error {
  readonly code = 'EUPSTREAM_TIMEOUT';
  constructor(ms: number) {
    super(`no response data for ${ms} ms`);
    this.name = 'UpstreamTimeoutError';
  }
}

export interface UpstreamFailure {
  status: 502 | 504;
  reason: string;
}

export function classify(err: NodeJS.ErrnoException): UpstreamFailure {
  switch (err.code) {
    case 'ECONNECT_TIMEOUT':
      return { status: 504, reason: 'connect timed out' };
    case 'EUPSTREAM_TIMEOUT':
      return { status: 504, reason: `read timed out (${err.message})` };
    case 'ETIMEDOUT':
      return { status: 504, reason: 'timed out' };
    case 'ECONNREFUSED':
      return { status: 502, reason: 'refused the connection' };
    case 'ENOENT':
      return { status: 502, reason: 'socket file does not exist' };
    case 'EACCES':
      return { status: 502, reason: 'permission denied on the socket' };
    case 'ECONNRESET':
      return { status: 502, reason: 'reset the connection' };
    case 'EPIPE':
      return { status: 502, reason: 'closed the connection while edge was sending' };
    case 'EMFILE':
    case 'ENFILE':
      return { status: 502, reason: `could not be connected: edge has too many open files (${err.code})` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { status: 502, reason: 'is unreachable' };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { status: 502, reason: 'host name does not resolve' };
    default:
      if (err.code?.startsWith('HPE_')) return { status: 502, reason: `sent an invalid response (${err.code})` };
      if (err.code !== undefined && err.code in UNTRUSTED) return { status: 502, reason: `TLS: ${UNTRUSTED[err.code]} (${err.code}: ${err.message})` };
      if (err.code?.startsWith('ERR_SSL_')) return { status: 502, reason: `TLS handshake failed (${err.code}: ${err.message}): does it speak https on that port?` };
      return { status: 502, reason: err.message };
  }
}

const NOT_TRUSTED = 'its certificate is not signed by a trusted CA: set proxy.tls.ca to the CA that signs it';

/** Certificate checks an https:// upstream failed, and what to do about each. */
const UNTRUSTED: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: NOT_TRUSTED,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: NOT_TRUSTED,
  UNABLE_TO_GET_ISSUER_CERT: NOT_TRUSTED,
  SELF_SIGNED_CERT_IN_CHAIN: NOT_TRUSTED,
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its certificate is self-signed: set proxy.tls.ca to that certificate',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet (check the clocks)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is not for the name edge checked (the host of the address, or proxy.tls.server_name)',
};

/** undici's errors in the terms above: a timeout by its kind, a broken connection by its cause. */
export function upstreamError(err: NodeJS.ErrnoException, readTimeout: number): NodeJS.ErrnoException {
  switch (err.code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return Object.assign(new Error('connect timed out'), { code: 'ECONNECT_TIMEOUT' });
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return new UpstreamTimeoutError(readTimeout);
    case 'UND_ERR_SOCKET': {
      const cause = err.cause as NodeJS.ErrnoException | undefined;
      // "other side closed": the upstream ended the connection before answering in full
      return cause?.code ? cause : Object.assign(new Error(err.message), { code: 'ECONNRESET' });
    }
    default:
      return err;
  }
}
