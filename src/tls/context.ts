// edge's TLS defaults and the SecureContexts built with them: TLS 1.2 and 1.3 only, AEAD ciphers
// with forward secrecy only, the server's cipher order, session tickets for resumption. Also the
// one check every certificate passes before it is served: its chain and key parse, the key is the
// certificate's, and OpenSSL accepts the pair.

import { createSecureContext, type SecureContext } from 'node:tls';
import { constants, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';

/** TLS 1.3 suites (all AEAD), then TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305: Mozilla's
 * "intermediate" list without the finite-field DHE suites. */
export const CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const TLS_DEFAULTS = {
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.3',
  ciphers: CIPHERS,
  honorCipherOrder: true,
  // renegotiation buys nothing on TLS 1.2 servers and costs CPU a client can make the server spend
  secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  ecdhCurve: groups(),
} as const;

/** X25519MLKEM768 (the post-quantum hybrid browsers offer) where OpenSSL has it (3.5+), then
 * X25519, P-256, P-384: no finite-field groups, no curves nobody needs. */
function groups(): string {
  const [major, minor] = process.versions.openssl.split('.').map(Number);
  const pq = major! > 3 || (major === 3 && minor! >= 5);
  return `${pq ? 'X25519MLKEM768:' : ''}X25519:prime256v1:secp384r1`;
}

/** A certificate edge serves: PEMs plus the facts renewal and `edge certs` need. */
export interface ServedCertificate {
  names: string[];
  certPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
  issuer: string;
}

export function secureContext(cert: { certPem: string; keyPem: string }): SecureContext {
  return createSecureContext({ ...TLS_DEFAULTS, cert: cert.certPem, key: cert.keyPem });
}

/** A certificate and key that cannot be served together; the message says what is wrong. */
export class CertificatePairError extends Error {
  readonly code = 'EBADPAIR';
  constructor(message: string) {
    super(message);
    this.name = 'CertificatePairError';
  }
}

/**
 * Reads validity, names and issuer from a PEM chain (its first certificate is the leaf), after
 * checking that the pair can be served: createSecureContext throws on a key that is not the
 * certificate's, and a caller that skipped this check would crash where it installs the pair.
 */
export function describeCertificate(certPem: string, keyPem: string): ServedCertificate {
  const leaf = parse('the certificate does not parse', () => new X509Certificate(certPem));
  const key: KeyObject = parse('the private key does not parse', () => createPrivateKey(keyPem));
  if (key.type !== 'private') throw new CertificatePairError('the key file holds no private key');
  if (!leaf.checkPrivateKey(key)) {
    throw new CertificatePairError(`the private key (${key.asymmetricKeyType}) is not the key of the certificate (serial ${leaf.serialNumber}, ${leaf.publicKey.asymmetricKeyType})`);
  }
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (!(notAfter > notBefore)) throw new CertificatePairError(`the certificate's validity period is empty (${leaf.validFrom} to ${leaf.validTo})`);
  // the rest of the chain, and anything else OpenSSL refuses
  parse('OpenSSL refuses the pair', () => secureContext({ certPem, keyPem }));
  const names = (leaf.subjectAltName ?? '')
    .split(', ')
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
    .filter((n) => n !== '');
  const issuer = /CN=([^\n]+)/.exec(leaf.issuer)?.[1] ?? leaf.issuer;
  return { names, certPem, keyPem, notBefore, notAfter, issuer };
}

function parse<T>(problem: string, make: () => T): T {
  try {
    return make();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CertificatePairError(`${problem} (${e.code ? `${e.code}: ` : ''}${e.message})`);
  }
}
