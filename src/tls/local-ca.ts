// The local certificate authority: one long-lived root per storage, created on first use, and
// short-lived leaves for names no public CA will certify (localhost, IPs, .test and friends) or
// for sites that ask for `tls: internal`. Users trust the root once; leaves come and go.

import { generateKeyPair, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';
import type { Storage } from './storage/storage.ts';

const ROOT_KEY = 'local/root.key';
const ROOT_CERT = 'local/root.crt';
const LOCK_NAME = 'local-ca';

const HOUR = 3_600_000;
const ROOT_LIFETIME_YEARS = 10;
const LEAF_LIFETIME_MS = 7 * 24 * HOUR;
/** Leaves are backdated so a client whose clock runs a little behind still accepts them. */
const LEAF_BACKDATE_MS = 5 * 60_000;
/** X.520 ub-common-name: a longer CN makes strict parsers reject the whole certificate. */
const MAX_CN_LENGTH = 64;

const generateRsa = promisify(generateKeyPair);

export type LocalCAErrorCode = 'ELOCALCA_NOKEY' | 'ELOCALCA_CORRUPT' | 'ELOCALCA_BADNAME';

export class LocalCAError extends Error {
  readonly code: LocalCAErrorCode;
  constructor(code: LocalCAErrorCode, message: string) {
    super(message);
    this.name = 'LocalCAError';
    this.code = code;
  }
}

export interface IssuedCert {
  certPem: string;
  /**
   * What a server sends: the leaf alone. There is no intermediate, and sending the root is
   * useless (a client that trusts it already has it; one that does not will not start to).
   */
  chainPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
}

export class LocalCA {
  /** Storage key of the root certificate, for `edge certs` to say where to find it. */
  readonly rootPath = ROOT_CERT;
  readonly #rootCert: forge.pki.Certificate;
  readonly #rootKey: forge.pki.rsa.PrivateKey;
  readonly #rootPem: string;
  readonly #now: () => Date;

  private constructor(rootPem: string, rootKeyPem: string, now: () => Date) {
    this.#rootPem = rootPem;
    this.#now = now;
    try {
      this.#rootCert = forge.pki.certificateFromPem(rootPem);
      this.#rootKey = forge.pki.privateKeyFromPem(rootKeyPem);
    } catch (err) {
      throw new LocalCAError('ELOCALCA_CORRUPT', `local CA root in storage is unreadable: ${(err as Error).message}`);
    }
    const pub = this.#rootCert.publicKey as forge.pki.rsa.PublicKey;
    if (!pub.n.equals(this.#rootKey.n) || !pub.e.equals(this.#rootKey.e)) {
      throw new LocalCAError('ELOCALCA_CORRUPT', `local CA root key "${ROOT_KEY}" does not match "${ROOT_CERT}"`);
    }
  }

  static async load(storage: Storage, opts: { now?: () => Date } = {}): Promise<LocalCA> {
    const now = opts.now ?? (() => new Date());
    const existing = await readRoot(storage);
    if (existing) return new LocalCA(existing.cert, existing.key, now);

    const lock = await storage.lock(LOCK_NAME);
    try {
      // Another process may have created the root while we waited for the lock.
      const raced = await readRoot(storage);
      if (raced) return new LocalCA(raced.cert, raced.key, now);
      const created = await createRoot(now());
      // Key first: a crash between the two writes leaves a key without a certificate, which
      // readRoot treats as "no root yet" since nobody can have trusted it.
      await storage.put(ROOT_KEY, created.key);
      // the certificate is for copying to clients (curl --cacert, a trust store); the key stays 0600
      await storage.put(ROOT_CERT, created.cert, { public: true });
      return new LocalCA(created.cert, created.key, now);
    } finally {
      await lock.release();
    }
  }

  get rootPem(): string {
    return this.#rootPem;
  }

  async issue(names: string[], opts: { lifetimeMs?: number } = {}): Promise<IssuedCert> {
    const hosts = [...new Set(names.map((n) => n.toLowerCase().replace(/\.$/, '')))].filter((n) => n !== '');
    if (hosts.length === 0) throw new LocalCAError('ELOCALCA_BADNAME', 'a certificate needs at least one name');

    const { publicKey, privateKey } = await generateRsa('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const now = this.#now().getTime();
    const notBefore = new Date(now - LEAF_BACKDATE_MS);
    // A leaf outliving its root would fail validation anyway; say so honestly in notAfter.
    const notAfter = new Date(Math.min(now + (opts.lifetimeMs ?? LEAF_LIFETIME_MS), this.#rootCert.validity.notAfter.getTime()));

    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
    cert.serialNumber = randomSerial();
    cert.validity.notBefore = notBefore;
    cert.validity.notAfter = notAfter;
    const cn = hosts[0]!.length <= MAX_CN_LENGTH ? [{ name: 'commonName', value: hosts[0]! }] : [];
    cert.setSubject(cn);
    cert.setIssuer(this.#rootCert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      // RFC 5280 4.2.1.6: with an empty subject the SAN carries the identity and must be critical.
      { name: 'subjectAltName', critical: cn.length === 0, altNames: hosts.map(altName) },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.#rootKeyId() },
    ]);
    cert.sign(this.#rootKey, forge.md.sha256.create());
    const certPem = forge.pki.certificateToPem(cert);
    return { certPem, chainPem: certPem, keyPem: privateKey, notBefore, notAfter };
  }

  /** The root's own SKI as written in it, so AKI matches even if computed differently. */
  #rootKeyId(): string {
    const ext = this.#rootCert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
    return ext?.subjectKeyIdentifier
      ? forge.util.hexToBytes(ext.subjectKeyIdentifier)
      : this.#rootCert.generateSubjectKeyIdentifier().getBytes();
  }
}

async function readRoot(storage: Storage): Promise<{ cert: string; key: string } | undefined> {
  const [cert, key] = await Promise.all([storage.get(ROOT_CERT), storage.get(ROOT_KEY)]);
  if (cert && !key) {
    // Making a new root would silently break every browser that trusts the old one.
    throw new LocalCAError('ELOCALCA_NOKEY', `"${ROOT_CERT}" is in ${storage.description} but its key "${ROOT_KEY}" is missing`);
  }
  return cert && key ? { cert: cert.toString('utf8'), key: key.toString('utf8') } : undefined;
}

async function createRoot(now: Date): Promise<{ cert: string; key: string }> {
  const { publicKey, privateKey } = await generateRsa('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now.getTime() - HOUR);
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + ROOT_LIFETIME_YEARS);
  cert.validity.notAfter = notAfter;
  const subject = [
    { name: 'commonName', value: `edge Local CA - ${now.getUTCFullYear()}` },
    { name: 'organizationName', value: 'edge' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: true, pathLenConstraint: 0 },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey };
}

/** 16 random bytes as a positive, minimally encoded DER integer (first byte 0x01..0x7f). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f || 0x01;
  return bytes.toString('hex');
}

function altName(host: string): { type: number; value?: string; ip?: string } {
  const family = isIP(host);
  if (family === 4) return { type: 7, ip: host };
  // forge parses only plain hex groups; the URL parser rewrites forms like ::ffff:1.2.3.4 into them.
  if (family === 6) {
    if (host.includes('%')) throw new LocalCAError('ELOCALCA_BADNAME', `"${host}": an IPv6 zone cannot be certified`);
    return { type: 7, ip: new URL(`http://[${host}]`).hostname.slice(1, -1) };
  }
  return { type: 2, value: host };
}
