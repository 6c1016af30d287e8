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
      return { status: 502, reason: err.message };
  }
}

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
