// The CA's ACME Renewal Information endpoint (RFC 9773): a certificate's identifier there (also
// what a renewal order sends as `replaces`), and fetching and checking its suggested window.
// When to act on the answer is renewal.ts's business.

import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { getCACertificates } from 'node:tls';
import { AuthorityKeyIdentifierExtension, X509Certificate } from '@peculiar/x509';
import * as asn1js from 'asn1js';
import { parseRetryAfter, type Window } from './renewal.ts';

const TIMEOUT_MS = 10_000;
/** A renewalInfo object is a few hundred bytes; anything this big is not one. */
const MAX_BODY = 64 * 1024;

export type AriErrorCode =
  | 'EARI_CERT' // the certificate cannot be named: unparsable, or no AKI keyIdentifier
  | 'EARI_URL' // the renewalInfo URL is not http(s)
  | 'EARI_NETWORK' // no answer: refused, reset, DNS, TLS
  | 'EARI_TIMEOUT' // no complete answer in time
  | 'EARI_HTTP' // an answer other than 200
  | 'EARI_RESPONSE'; // a 200 whose body is not a valid renewalInfo object

export class AriError extends Error {
  readonly code: AriErrorCode;
  /** For EARI_HTTP: the status the CA answered. */
  readonly status?: number;
  /** For EARI_HTTP: the CA's Retry-After, so a 429 or 503 backs the caller off. */
  readonly retryAfterMs?: number;
  constructor(code: AriErrorCode, message: string, opts: { cause?: unknown; status?: number; retryAfterMs?: number } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AriError';
    this.code = code;
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}

export interface RenewalInfo {
  window: Window;
  explanationUrl?: string;
  /** Milliseconds until the CA wants to be asked again, as sent; nextAriCheck clamps it. */
  retryAfterMs?: number;
}

/**
 * RFC 9773 section 4.1: base64url of the AKI keyIdentifier, ".", base64url of the serial's DER
 * content octets, no padding. Takes the first certificate of a PEM chain (the leaf).
 */
export function certId(certPem: string): string {
  let keyId: string | undefined;
  let serial: Buffer;
  try {
    const cert = new X509Certificate(certPem);
    keyId = cert.getExtension(AuthorityKeyIdentifierExtension)?.keyId;
    serial = serialOctets(cert.rawData);
  } catch (err) {
    throw new AriError('EARI_CERT', `cannot read the certificate: ${(err as Error).message}`, { cause: err });
  }
  if (!keyId) {
    throw new AriError('EARI_CERT', 'the certificate has no Authority Key Identifier keyIdentifier, which ARI needs to name it');
  }
  return `${Buffer.from(keyId, 'hex').toString('base64url')}.${serial.toString('base64url')}`;
}

/**
 * The serial's INTEGER content exactly as encoded. @peculiar/x509's serialNumber drops the
 * leading 0x00 of a serial whose top bit is set, and RFC 9773 keeps it ("AIdlQyE", not "h2VDIQ").
 */
function serialOctets(der: ArrayBuffer): Buffer {
  const { result } = asn1js.fromBER(der);
  const tbs = result instanceof asn1js.Sequence ? result.valueBlock.value[0] : undefined;
  if (!(tbs instanceof asn1js.Sequence)) throw new Error('no TBSCertificate');
  const fields = tbs.valueBlock.value;
  // The version is an optional [0] (context-specific class) before the serial.
  const serial = fields[0]?.idBlock.tagClass === 3 ? fields[1] : fields[0];
  if (!(serial instanceof asn1js.Integer)) throw new Error('no serial number');
  return Buffer.from(serial.valueBlock.valueHexView);
}

/**
 * GETs `${renewalInfoUrl}/${certId}` and checks the answer. `ca` (a private or test CA) is
 * trusted on top of Node's default roots, which include NODE_EXTRA_CA_CERTS and, with
 * --use-system-ca, the system store; plain http is for local stubs.
 */
export async function fetchRenewalInfo(
  renewalInfoUrl: string,
  certPem: string,
  opts: { ca?: string | Buffer; now?: Date; timeoutMs?: number } = {},
): Promise<RenewalInfo> {
  const url = renewalUrl(renewalInfoUrl, certId(certPem));
  const res = await get(url, opts.ca, opts.timeoutMs ?? TIMEOUT_MS);
  const retryAfterMs = parseRetryAfter(res.headers['retry-after'], opts.now ?? new Date());
  if (res.status !== 200) {
    const statusOpts = retryAfterMs === undefined ? { status: res.status } : { status: res.status, retryAfterMs };
    throw new AriError('EARI_HTTP', `${url} answered ${res.status}`, statusOpts);
  }
  const info = parseRenewalInfo(res.body, url.href);
  return retryAfterMs === undefined ? info : { ...info, retryAfterMs };
}

function renewalUrl(base: string, id: string): URL {
  let url: URL;
  try {
    url = new URL(`${base.replace(/\/+$/, '')}/${id}`);
  } catch {
    throw new AriError('EARI_URL', `renewalInfo URL "${base}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AriError('EARI_URL', `renewalInfo URL "${base}" is not http or https`);
  }
  return url;
}

/**
 * Checks a renewalInfo body strictly: RFC 9773 says an invalid one counts as no answer at all,
 * so a half-understood window must not drive a renewal.
 */
export function parseRenewalInfo(body: string, source: string): Omit<RenewalInfo, 'retryAfterMs'> {
  const bad = (why: string) => new AriError('EARI_RESPONSE', `renewalInfo from ${source}: ${why}`);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw bad('body is not JSON');
  }
  if (!isObject(json)) throw bad('body is not a JSON object');
  const window = json.suggestedWindow;
  if (!isObject(window)) throw bad('no suggestedWindow object');
  const start = rfc3339(window.start);
  const end = rfc3339(window.end);
  if (!start) throw bad(`suggestedWindow.start ${JSON.stringify(window.start)} is not an RFC 3339 time`);
  if (!end) throw bad(`suggestedWindow.end ${JSON.stringify(window.end)} is not an RFC 3339 time`);
  if (start >= end) throw bad(`suggestedWindow must end after it starts, got ${window.start} to ${window.end}`);
  const explanation = json.explanationURL;
  if (explanation !== undefined && typeof explanation !== 'string') throw bad('explanationURL is not a string');
  return explanation === undefined ? { window: { start, end } } : { window: { start, end }, explanationUrl: explanation };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Date.parse alone is too forgiving: it takes "2025-02-30" as 2 March. */
function rfc3339(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(value.toUpperCase());
  return Number.isNaN(date.getTime()) ? undefined : date;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One GET on a fresh connection (no pooling: this runs twice a day per certificate). */
function get(url: URL, ca: string | Buffer | undefined, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = { agent: false as const, headers: { accept: 'application/json' } };
    const req = url.protocol === 'https:'
      ? httpsRequest(url, ca === undefined ? options : { ...options, ca: [...getCACertificates('default'), ca] })
      : httpRequest(url, options);
    // One deadline for the whole exchange, so a server trickling bytes cannot hold us either.
    const timer = setTimeout(() => {
      reject(new AriError('EARI_TIMEOUT', `no complete answer from ${url} within ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err instanceof AriError ? err : new AriError('EARI_NETWORK', `${url}: ${err.message}`, { cause: err }));
      req.destroy();
    };
    req.on('error', fail);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('error', fail);
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) fail(new AriError('EARI_RESPONSE', `renewalInfo from ${url}: body larger than ${MAX_BODY} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end();
  });
}
